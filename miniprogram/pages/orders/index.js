// 订单: registrations and care orders, by status tab, 20 a page (more on reaching the bottom).
// An unpaid order can be paid from its card; a tap opens the order's detail page.
const booking = require('../../services/booking')
const careOrders = require('../../services/care_orders')
const payments = require('../../services/payments')
const { REGISTRATION_TABS, CARE_ORDER_TABS } = require('../../utils/status')
const { go } = require('../../utils/routes')

const PAGE_SIZE = 20
const KINDS = {
  registration: { label: '挂号', tabs: REGISTRATION_TABS, list: booking.list, detail: 'registration' },
  care_order: { label: '陪护', tabs: CARE_ORDER_TABS, list: careOrders.list, detail: 'careOrder' },
}
const PAY_ACTION = [{ key: 'pay', label: '去支付', primary: true }]

Component({
  data: {
    kinds: Object.keys(KINDS).map((key) => ({ key, label: KINDS[key].label })),
    kind: 'registration',
    tabs: REGISTRATION_TABS,
    tab: 'all',
    items: [],
    page: 1,
    hasMore: false,
    state: 'loading',
    errorText: '',
    payAction: PAY_ACTION,
  },
  methods: {
    onLoad(query) {
      if (query && KINDS[query.kind]) this.setData({ kind: query.kind, tabs: KINDS[query.kind].tabs })
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    onReachBottom() {
      if (this.data.hasMore && !this.loadingMore) return this.load(this.data.page + 1)
      return null
    },
    async load(page = 1) {
      const { kind, tab } = this.data
      const { tabs, list } = KINDS[kind]
      const statuses = tabs.find((t) => t.key === tab).statuses
      if (page === 1) this.setData({ state: 'loading' })
      this.loadingMore = page > 1
      try {
        const result = await list({ status: statuses, page, page_size: PAGE_SIZE }, { toast: page > 1 })
        if (kind !== this.data.kind || tab !== this.data.tab) return // switched meanwhile
        const items = page === 1 ? result.items : this.data.items.concat(result.items)
        this.setData({
          items, page, hasMore: items.length < result.total, state: items.length ? '' : 'empty',
        })
      } catch (err) {
        if (page === 1) this.setData({ state: 'error', errorText: err.message })
      } finally {
        this.loadingMore = false
      }
    },
    onKind(e) {
      const { key } = e.currentTarget.dataset
      if (key === this.data.kind) return
      this.setData({ kind: key, tabs: KINDS[key].tabs, tab: 'all', items: [] })
      this.load()
    },
    onTab(e) {
      const { key } = e.currentTarget.dataset
      if (key === this.data.tab) return
      this.setData({ tab: key, items: [] })
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
