// 我的挂号: registrations by status tab (utils/status.js REGISTRATION_TABS), 20 a page with
// more on reaching the bottom. An unpaid one can be paid from its card; a tap opens it.
const booking = require('../../../services/booking')
const payments = require('../../../services/payments')
const { REGISTRATION_TABS } = require('../../../utils/status')
const { go } = require('../../../utils/routes')

const PAGE_SIZE = 20
const PAY_ACTION = [{ key: 'pay', label: '去支付', primary: true }]

Component({
  data: {
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
    onLoad(query = {}) {
      if (REGISTRATION_TABS.some((t) => t.key === query.tab)) this.setData({ tab: query.tab })
      return this.load()
    },
    // back from a registration (paid, cancelled): show its new state
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
      const statuses = REGISTRATION_TABS.find((t) => t.key === tab).statuses
      if (page === 1) this.setData({ state: 'loading' })
      this.loadingMore = page > 1
      try {
        const result = await booking.list({ status: statuses, page, page_size: PAGE_SIZE }, { toast: page > 1 })
        if (tab !== this.data.tab) return // switched meanwhile
        const items = page === 1 ? result.items : this.data.items.concat(result.items)
        this.setData({
          items, page, hasMore: items.length < result.total, state: items.length ? '' : 'empty',
          errorText: items.length ? '' : '暂无挂号记录',
        })
      } catch (err) {
        if (page === 1 && tab === this.data.tab) this.setData({ state: 'error', errorText: err.message })
      } finally {
        this.loadingMore = false
      }
    },
    onTab(e) {
      const { key } = e.currentTarget.dataset
      if (key === this.data.tab) return null
      this.setData({ tab: key, items: [] })
      return this.load()
    },
    onOpen(e) {
      go('registration', { id: e.detail.id })
    },
    async onAction(e) {
      const { key, id } = e.detail
      if (key !== 'pay') return
      try {
        await payments.payOrder(payments.ORDER_TYPES.registration, id)
        wx.showToast({ title: '支付成功', icon: 'success' })
      } catch (err) {
        // payments has shown why; the reloaded list shows the order's real state
      }
      await this.load()
    },
    onBook() {
      go('hospitals')
    },
  },
})
