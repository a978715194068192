// 我的会员: the level, the progress to the next one (by points or by spend, whichever is
// closer: either is enough), the privileges in plain words, this month's late cancels, and the
// ladder of levels with what each asks and gives. 我的积分 is one tap away.
const membership = require('../../../services/membership')
const { yuan } = require('../../../utils/format')
const { go } = require('../../../utils/routes')

// 90 → "90 分钟", 120 → "2 小时"
function minutesText(m) {
  return m % 60 === 0 ? `${m / 60} 小时` : `${m} 分钟`
}

// Privileges {early_access_minutes, ...} → the lines a user reads ({key, title, text}); one
// per privilege the level has, in the order they matter to a family
function privilegeLines(p) {
  if (!p) return []
  const lines = []
  if (p.early_access_minutes > 0) {
    lines.push({ key: 'early', title: '提前预约', text: `放号前 ${minutesText(p.early_access_minutes)}即可预约挂号` })
  }
  if (p.late_cancel_hours > 0 && p.late_cancels_per_month > 0) {
    lines.push({ key: 'late_cancel', title: '超时免费取消',
      text: `过了医院的取消时限后 ${p.late_cancel_hours} 小时内仍可免费取消,每月 ${p.late_cancels_per_month} 次` })
  }
  if (p.care_discount_percent > 0) {
    const rate = (100 - p.care_discount_percent) / 10
    lines.push({ key: 'care_discount', title: '陪护折扣', text: `陪护订单享 ${rate} 折(优惠 ${p.care_discount_percent}%)` })
  }
  if (p.waitlist_priority > 0) {
    lines.push({ key: 'waitlist', title: '候补优先', text: '号源退回时优先为您保留' })
  }
  if (p.dispatch_priority > 0) {
    lines.push({ key: 'dispatch', title: '派单优先', text: '平台派单时优先为您安排护工' })
  }
  return lines
}

// MyMembership.next → the closer way up: {percent, text, other}; null at the top level
function progressView(m) {
  const next = m.next
  if (!next) return null
  const share = (have, need) => (have + need > 0 ? have / (have + need) : 1)
  const byPoints = share(m.points, next.points_needed)
  const bySpend = share(m.spend_fen, next.spend_fen_needed)
  const pointsText = `再获得 ${next.points_needed} 积分`
  const spendText = `再消费 ¥${yuan(next.spend_fen_needed)}`
  const pointsCloser = byPoints >= bySpend
  return {
    level: next.level,
    percent: Math.min(100, Math.round((pointsCloser ? byPoints : bySpend) * 100)),
    text: pointsCloser ? `${pointsText}即可升级为${next.level}` : `${spendText} 即可升级为${next.level}`,
    other: `或${pointsCloser ? spendText : pointsText},任一达到即可`,
  }
}

function levelView(level, current) {
  const needs = []
  if (level.min_points > 0) needs.push(`获得 ${level.min_points} 积分`)
  if (level.min_spend_fen > 0) needs.push(`实付 ¥${yuan(level.min_spend_fen)}`)
  const lines = privilegeLines(level.privileges)
  return {
    code: level.code,
    name: level.name,
    current: level.code === current,
    needs: needs.length ? needs.join(' 或 ') : '注册即享',
    privileges: lines.length ? lines.map((l) => l.title).join(' · ') : '基础服务',
  }
}

Component({
  data: {
    state: 'loading',
    errorText: '',
    member: null,
    progress: null,
    privileges: [],
    lateCancels: '',
    levels: [],
    windowText: '',
    statsText: '',
  },
  methods: {
    onLoad() {
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async load() {
      this.setData({ state: 'loading' })
      try {
        const m = await membership.membership({ toast: false })
        const p = m.privileges || {}
        this.setData({
          member: { level: m.level, levelName: m.level_name },
          windowText: `近 ${m.window_days} 天`,
          statsText: `近 ${m.window_days} 天获得 ${m.points} 积分 · 实付 ¥${yuan(m.spend_fen)}`,
          progress: progressView(m),
          privileges: privilegeLines(p),
          lateCancels: p.late_cancel_hours > 0 && p.late_cancels_per_month > 0
            ? `本月已用 ${m.late_cancels_used} 次,共 ${p.late_cancels_per_month} 次` : '',
          levels: (m.levels || []).map((l) => levelView(l, m.level)),
          state: '',
        })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    onPoints() {
      go('points')
    },
  },
})
