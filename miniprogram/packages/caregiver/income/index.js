// 我的收入: the totals (pending / settled), the last 12 months (tap one to see only its
// entries) and the entries, newest first, 20 a page (more on reaching the bottom).
const earnings = require('../../../services/earnings')
const pagedList = require('../../../behaviors/paged-list')
const { yuan, dateTime } = require('../../../utils/format')

Component({
  behaviors: [pagedList],
  data: { summary: null, months: [], month: '' },
  methods: {
    onLoad() {
      return this.load()
    },
    listKey() {
      return this.data.month
    },
    fetchPage(paging, options) {
      return earnings.income({ month: this.data.month, ...paging }, options)
    },
    pageItems(result) {
      return result.items.map((e) => ({
        ...e, net: yuan(e.net_fen), amount: yuan(e.amount_fen), commission: yuan(e.commission_fen),
        at: dateTime(e.created_at), negative: e.net_fen < 0,
      }))
    },
    // the totals and months stand above the entries, so an empty list is no empty page
    pageData(result) {
      const s = result.summary
      return {
        summary: { pending: yuan(s.pending_net_fen), settled: yuan(s.settled_net_fen) },
        // newest month first
        months: s.months.slice().reverse().map((m) => ({
          ...m, net: yuan(m.net_fen), settled: yuan(m.settled_net_fen), commission: yuan(m.commission_fen),
        })),
        state: '',
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
