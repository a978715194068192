// 我的积分: the balance, what expires within 30 days, and the history 20 a page (newest first,
// more at the bottom). Points are spent as a discount when booking (确认挂号's 积分抵扣).
const membership = require('../../../services/membership')
const pagedList = require('../../../behaviors/paged-list')
const { dateTime, day } = require('../../../utils/format')
const { go } = require('../../../utils/routes')

function transactionView(t) {
  return {
    id: t.id,
    kind: t.kind,
    title: t.kind_name,
    description: t.description,
    time: dateTime(t.created_at),
    points: t.points > 0 ? `+${t.points}` : String(t.points),
    gain: t.points > 0,
  }
}

Component({
  behaviors: [pagedList],
  data: {
    balance: null,
    expiring: [],
  },
  methods: {
    onLoad() {
      return this.load()
    },
    listKey() {
      return 'history'
    },
    // MyPoints: the history page is the list; the balance and expiring points come with it
    async fetchPage(paging, options) {
      const result = await membership.points(paging, options)
      return { ...result.history, balance: result.balance, expiring_soon: result.expiring_soon }
    },
    pageItems(result) {
      return result.items.map(transactionView)
    },
    pageData(result) {
      return {
        balance: result.balance,
        expiring: (result.expiring_soon || []).map((e) => ({ key: e.expires_at, points: e.points, date: day(e.expires_at) })),
      }
    },
    onMembership() {
      go('membership')
    },
  },
})
