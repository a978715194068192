// 陪护订单: the family's care orders by status tab (CARE_ORDER_TABS), 20 a page (more on
// reaching the bottom). Cards offer 去支付 (unpaid), 确认完成 (service ended) and 去评价
// (completed); a tap opens the order.
const careOrders = require('../../../services/care_orders')
const payments = require('../../../services/payments')
const { CARE_ORDER_TABS } = require('../../../utils/status')
const { go } = require('../../../utils/routes')

const PAGE_SIZE = 20
const ACTIONS = {
  pending_payment: [{ key: 'pay', label: '去支付', primary: true }],
  awaiting_confirmation: [{ key: 'confirm', label: '确认完成', primary: true }],
  completed: [{ key: 'review', label: '去评价' }],
}

Component({
  data: {
    tabs: CARE_ORDER_TABS,
    tab: 'all',
    items: [],
    page: 1,
    hasMore: false,
    state: 'loading',
    errorText: '',
  },
  methods: {
    onLoad(query = {}) {
      if (CARE_ORDER_TABS.some((t) => t.key === query.tab)) this.setData({ tab: query.tab })
      this.loaded = true
      return this.load()
    },
    // back from an order page: its status may have changed
    onShow() {
      if (this.shown) return this.load()
      this.shown = true
      return null
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
      const { tab } = this.data
      const statuses = CARE_ORDER_TABS.find((t) => t.key === tab).statuses
      if (page === 1) this.setData({ state: 'loading' })
      this.loadingMore = page > 1
      try {
        const result = await careOrders.list({ status: statuses, page, page_size: PAGE_SIZE }, { toast: page > 1 })
        if (tab !== this.data.tab) return // switched meanwhile
        const fresh = result.items.map((o) => ({ ...o, actions: ACTIONS[o.status] || [] }))
        const items = page === 1 ? fresh : this.data.items.concat(fresh)
        this.setData({ items, page, hasMore: items.length < result.total, state: items.length ? '' : 'empty' })
      } catch (err) {
        if (page === 1 && tab === this.data.tab) this.setData({ state: 'error', errorText: err.message })
      } finally {
        this.loadingMore = false
      }
    },
    retry() {
      return this.load()
    },
    onTab(e) {
      const { key } = e.currentTarget.dataset
      if (key === this.data.tab) return null
      this.setData({ tab: key, items: [] })
      return this.load()
    },
    onOpen(e) {
      go('careOrder', { id: e.detail.id })
    },
    onFind() {
      go('careSearch')
    },
    async onAction(e) {
      const { key, id } = e.detail
      if (key === 'review') {
        go('careReview', { id })
        return
      }
      if (key === 'pay') {
        try {
          await payments.payOrder(payments.ORDER_TYPES.careOrder, id)
          wx.showToast({ title: '支付成功', icon: 'success' })
        } catch (err) { /* payments has shown why */ }
      } else if (key === 'confirm') {
        const ok = await new Promise((resolve) => wx.showModal({
          title: '确认服务完成',
          content: '确认护工已完成本次服务?确认后订单完成,可以评价护工。',
          success: (res) => resolve(!!res.confirm),
          fail: () => resolve(false),
        }))
        if (!ok) return
        try {
          await careOrders.confirm(id)
          wx.showToast({ title: '已确认完成', icon: 'success' })
        } catch (err) { /* toasted */ }
      }
      await this.load()
    },
  },
})
