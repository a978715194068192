// 我的订单 (caregiver): 待接单 (the offers, each with a countdown to its acceptance_deadline and
// accept / reject with a reason), 待服务 and 历史; a tap on a scheduled or past order opens the
// service page. The countdown ticks every second from the offer's own deadline.
const careOrders = require('../../../services/care_orders')
const pagedList = require('../../../behaviors/paged-list')
const { go } = require('../../../utils/routes')
const { yuan, dateTime } = require('../../../utils/format')
const { countdown, toast, confirm } = require('../common')

const TABS = [
  { key: 'inbox', label: '待接单' },
  { key: 'schedule', label: '待服务' },
  { key: 'history', label: '历史' },
]
const EMPTY_TEXTS = { inbox: '暂无待接订单', schedule: '暂无待服务订单', history: '暂无历史订单' }
const REASONS = ['时间冲突', '距离太远', '身体不适', '不擅长该护理']

function view(o, now) {
  const left = countdown(o.acceptance_deadline, now)
  return {
    ...o,
    place: [o.hospital ? o.hospital.name : o.address, o.department, o.bed].filter(Boolean).join(' · '),
    time: `${dateTime(o.start)} 至 ${dateTime(o.end)}`,
    total: yuan(o.price && o.price.total_fen),
    countdown: left.text,
    expired: left.seconds === 0,
  }
}

Component({
  behaviors: [pagedList],
  data: {
    tabs: TABS, tab: 'inbox',
    rejecting: null, reason: '', reasonError: '', reasons: REASONS, busy: false,
  },
  lifetimes: {
    detached() {
      this.stopTimer()
    },
  },
  methods: {
    onLoad(query) {
      this.selectTabFromQuery(query)
      return this.load()
    },
    onShow() {
      if (this.loaded) this.load()
    },
    onHide() {
      this.stopTimer()
    },
    onUnload() {
      this.stopTimer()
    },
    fetchPage(paging, options) {
      return careOrders.caregiverOrders(this.data.tab, paging, options)
    },
    pageItems(result) {
      const now = Date.now()
      return result.items.map((o) => view(o, now))
    },
    pageData(result, items) {
      return { errorText: items.length ? '' : EMPTY_TEXTS[this.data.tab] }
    },
    // the offers' countdowns tick; the other tabs have none
    afterPage(items) {
      this.loaded = true
      if (this.data.tab === 'inbox' && items.length) this.startTimer()
      else this.stopTimer()
    },
    startTimer() {
      this.stopTimer()
      this.timer = setInterval(() => this.tick(), 1000)
    },
    stopTimer() {
      if (this.timer) clearInterval(this.timer)
      this.timer = null
    },
    tick() {
      const now = Date.now()
      const changes = {}
      this.data.items.forEach((o, i) => {
        const left = countdown(o.acceptance_deadline, now)
        if (left.text !== o.countdown) {
          changes[`items[${i}].countdown`] = left.text
          changes[`items[${i}].expired`] = left.seconds === 0
        }
      })
      if (Object.keys(changes).length) this.setData(changes)
    },
    onOpen(e) {
      if (this.data.tab === 'inbox') return
      go('caregiverService', { id: e.currentTarget.dataset.id })
    },
    async onAccept(e) {
      const id = Number(e.currentTarget.dataset.id)
      if (this.data.busy) return
      if (!(await confirm('接单后请按时到岗服务,确定接单吗?', '接单'))) return
      this.setData({ busy: true })
      try {
        await careOrders.accept(id)
        toast('接单成功', 'success')
        this.setData({ items: this.data.items.filter((o) => o.id !== id) })
        if (!this.data.items.length) this.setData({ state: 'empty', errorText: '暂无待接订单' })
      } catch (err) {
        // toasted (offer_expired: 接单时间已过,订单已改派); the list may have changed
        if (err.status === 409 || err.status === 404) this.load()
      } finally {
        this.setData({ busy: false })
      }
    },
    onReject(e) {
      this.setData({ rejecting: Number(e.currentTarget.dataset.id), reason: '', reasonError: '' })
    },
    onCloseReject() {
      this.setData({ rejecting: null })
    },
    onReason(e) {
      this.setData({ reason: e.detail.value, reasonError: '' })
    },
    onQuickReason(e) {
      this.setData({ reason: e.currentTarget.dataset.reason, reasonError: '' })
    },
    async onConfirmReject() {
      const reason = (this.data.reason || '').trim()
      if (reason.length < 2 || reason.length > 200) {
        this.setData({ reasonError: '请填写拒单原因(2–200 字)' })
        return
      }
      const id = this.data.rejecting
      this.setData({ busy: true })
      try {
        await careOrders.reject(id, reason)
        toast('已拒单')
        this.setData({ rejecting: null, items: this.data.items.filter((o) => o.id !== id) })
        if (!this.data.items.length) this.setData({ state: 'empty', errorText: '暂无待接订单' })
      } catch (err) {
        if (err.status === 409 || err.status === 404) {
          this.setData({ rejecting: null })
          this.load()
        }
      } finally {
        this.setData({ busy: false })
      }
    },
  },
})
