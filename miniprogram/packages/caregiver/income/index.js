// 我的收入: the totals (pending / settled), the last 12 months (tap one to see only its
// entries) and the entries, newest first, 20 a page (more on reaching the bottom).
const earnings = require('../../../services/earnings')
const { yuan, dateTime } = require('../../../utils/format')

const PAGE_SIZE = 20

Component({
  data: {
    state: 'loading', errorText: '', summary: null, months: [], month: '', items: [],
    page: 1, hasMore: false, loadingMore: false,
  },
  methods: {
    onLoad() {
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    onReachBottom() {
      if (this.data.hasMore && !this.data.loadingMore) return this.load(this.data.page + 1)
      return null
    },
    async load(page = 1) {
      const { month } = this.data
      if (page === 1) this.setData({ state: 'loading' })
      else this.setData({ loadingMore: true })
      try {
        const result = await earnings.income({ month, page, page_size: PAGE_SIZE }, { toast: page > 1 })
        if (month !== this.data.month) return // switched meanwhile
        const fresh = result.items.map((e) => ({
          ...e, net: yuan(e.net_fen), amount: yuan(e.amount_fen), commission: yuan(e.commission_fen),
          at: dateTime(e.created_at), negative: e.net_fen < 0,
        }))
        const items = page === 1 ? fresh : this.data.items.concat(fresh)
        const s = result.summary
        this.setData({
          summary: { pending: yuan(s.pending_net_fen), settled: yuan(s.settled_net_fen) },
          // newest month first
          months: s.months.slice().reverse().map((m) => ({
            ...m, net: yuan(m.net_fen), settled: yuan(m.settled_net_fen), commission: yuan(m.commission_fen),
          })),
          items, page, hasMore: items.length < result.total, state: '',
        })
      } catch (err) {
        if (page === 1) this.setData({ state: 'error', errorText: err.message })
      } finally {
        this.setData({ loadingMore: false })
      }
    },
    onMonth(e) {
      const { month } = e.currentTarget.dataset
      this.setData({ month: month === this.data.month ? '' : month, items: [] })
      this.load()
    },
    onMore() {
      return this.onReachBottom()
    },
  },
})
