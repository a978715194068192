// 我的候补: my waits for sold-out schedules by tab (utils/status.js WAITLIST_TABS), 20 a page.
// Waiting: the place in the queue and 退出候补 (after a confirm). Offered: a slot is held as an
// unpaid registration until pay_deadline; 去支付 opens that registration, whose page pays it.
// Booked: 查看挂号. Ended: why.
const waitlist = require('../../../services/waitlist')
const pagedList = require('../../../behaviors/paged-list')
const { WAITLIST_TABS } = require('../../../utils/status')
const { yuan, dateTime } = require('../../../utils/format')
const { go } = require('../../../utils/routes')

// end_reason → why a wait ended (app/waitlist/services.py _END_TEXT, and the holds' lapse reasons)
const END_REASONS = {
  unpaid: '未在截止时间前支付,号源已转给下一位',
  cancelled: '已取消保留的号源',
  left: '您已退出候补',
  booking_closed: '该日预约已截止',
  stopped: '医生停诊',
  patient_removed: '就诊人已删除',
  account_inactive: '账号不可用',
  already_booked: '该就诊人已预约此号源',
  daily_limit: '该就诊人当日预约数已达上限',
}

function entryView(e) {
  const s = e.schedule || {}
  let note = ''
  if (e.status === 'waiting') note = e.position ? `当前排第 ${e.position} 位,有号退回时将按顺序为您保留` : '候补中'
  else if (e.status === 'offered') note = `已为您保留号源,请于 ${dateTime(e.pay_deadline)} 前支付,逾期转给下一位`
  else if (e.status === 'booked') note = '候补成功,已为您预约'
  else if (e.end_reason) note = END_REASONS[e.end_reason] || ''
  return {
    id: e.id,
    status: e.status,
    statusName: e.status_name,
    title: `${(s.hospital && s.hospital.name) || ''} ${(s.department && s.department.name) || ''}`.trim(),
    doctor: (s.doctor && s.doctor.name) || '',
    time: `${s.work_date || ''} ${s.period_name || ''} ${s.start_time || ''}-${s.end_time || ''}`,
    fee: yuan(s.fee_fen),
    note,
    registrationId: e.status === 'offered' ? e.registration_id : e.booked_registration_id,
  }
}

Component({
  behaviors: [pagedList],
  data: {
    tabs: WAITLIST_TABS,
    tab: 'all',
  },
  methods: {
    onLoad(query = {}) {
      this.selectTabFromQuery(query)
      return this.load()
    },
    // back from paying a hold: show its new state
    onShow() {
      return this.reloadWhenShownAgain()
    },
    fetchPage(paging, options) {
      return waitlist.list({ status: this.tabStatuses(), ...paging }, options)
    },
    pageItems(result) {
      return result.items.map(entryView)
    },
    pageData(result, items) {
      return { errorText: items.length ? '' : '暂无候补记录' }
    },
    // 去支付 (offered) and 查看挂号 (booked): the registration page shows and pays it
    onRegistration(e) {
      const { id } = e.currentTarget.dataset
      if (id) go('registration', { id })
    },
    onLeave(e) {
      const { id } = e.currentTarget.dataset
      wx.showModal({
        title: '退出候补',
        content: '退出后将不再为您保留退回的号源,确定退出吗?',
        confirmText: '退出',
        cancelText: '再等等',
        success: async (res) => {
          if (!res.confirm) return
          try {
            await waitlist.leave(id)
            wx.showToast({ title: '已退出候补', icon: 'success' })
          } catch (err) {
            // the wrapper has shown why (e.g. a slot was just held for it)
          }
          await this.load()
        },
      })
    },
    onBook() {
      go('hospitals')
    },
  },
})
