// 订单: registrations and care orders, by status tab, 20 a page (more on reaching the bottom).
// An unpaid order can be paid from its card; a tap opens the order's detail page.
const booking = require('../../services/booking')
const careOrders = require('../../services/care_orders')
const payments = require('../../services/payments')
const pagedList = require('../../behaviors/paged-list')
const { REGISTRATION_TABS, CARE_ORDER_TABS } = require('../../utils/status')
const { go } = require('../../utils/routes')

const KINDS = {
  registration: { label: '挂号', tabs: REGISTRATION_TABS, list: booking.list, detail: 'registration' },
  care_order: { label: '陪护', tabs: CARE_ORDER_TABS, list: careOrders.list, detail: 'careOrder' },
}
const PAY_ACTION = [{ key: 'pay', label: '去支付', primary: true }]

Component({
  behaviors: [pagedList],
  data: {
    kinds: Object.keys(KINDS).map((key) => ({ key, label: KINDS[key].label })),
    kind: 'registration',
    tabs: REGISTRATION_TABS,
    tab: 'all',
    payAction: PAY_ACTION,
  },
  methods: {
    onLoad(query) {
      if (query && KINDS[query.kind]) this.setData({ kind: query.kind, tabs: KINDS[query.kind].tabs })
      return this.load()
    },
    listKey() {
      return `${this.data.kind}/${this.data.tab}`
    },
    fetchPage(paging, options) {
      return KINDS[this.data.kind].list({ status: this.tabStatuses(), ...paging }, options)
    },
    onKind(e) {
      const { key } = e.currentTarget.dataset
      if (key === this.data.kind) return
      this.setData({ kind: key, tabs: KINDS[key].tabs, tab: 'all', items: [] })
      this.load()
    },
    onOpen(e) {
      go(KINDS[e.detail.kind].detail, { id: e.detail.id })
    },
    async onAction(e) {
      const { key, id, kind } = e.detail
      if (key !== 'pay') return
      try {
        await payments.payOrder(kind, id)
        wx.showToast({ title: '支付成功', icon: 'success' })
      } catch (err) {
        // payments has shown the reason; the list below shows the order's real state
      }
      this.load()
    },
  },
})
