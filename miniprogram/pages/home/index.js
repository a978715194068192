// 首页: search, the two services (挂号, 陪护), the entry to the discussion board (讨论区), the
// platform's announcements (from the user's inbox) and a few hospitals to start from.
const hospitals = require('../../services/hospitals')
const notifications = require('../../services/notifications')
const { getToken } = require('../../services/request')
const { go } = require('../../utils/routes')

const ENTRIES = [
  { key: 'hospitals', label: '预约挂号', hint: '三甲医院 在线挂号', tone: 'green' },
  { key: 'careSearch', label: '找护工', hint: '医院陪护 居家照护', tone: 'blue' },
  { key: 'registrations', label: '我的挂号', hint: '', tone: 'plain' },
  { key: 'patients', label: '就诊人', hint: '', tone: 'plain' },
]

Component({
  data: { entries: ENTRIES, keyword: '', hospitals: [], notices: [], state: 'loading', errorText: '' },
  methods: {
    onLoad() {
      return this.load()
    },
    onShow() {
      notifications.refreshBadge()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async load() {
      this.setData({ state: 'loading' })
      try {
        const page = await hospitals.list({ page: 1, page_size: 5 }, { toast: false })
        this.setData({ hospitals: page.items, state: page.items.length ? '' : 'empty' })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
      this.loadNotices()
    },
    // the latest announcements sent to this user; signed out, the page stays public (no
    // sign-in for it), and a failure only leaves the bar out
    async loadNotices() {
      if (!getToken()) return
      try {
        const page = await notifications.list({ kind: 'announcement', page_size: 3 }, { toast: false })
        this.setData({ notices: page.items })
      } catch (e) { /* the page works without it */ }
    },
    onNotice() {
      go('inbox')
    },
    onKeyword(e) {
      this.setData({ keyword: e.detail.value })
    },
    onSearch() {
      go('hospitals', { keyword: this.data.keyword.trim() })
    },
    onEntry(e) {
      go(e.currentTarget.dataset.key)
    },
    onBoard() {
      go('board')
    },
    onHospital(e) {
      go('hospital', { id: e.currentTarget.dataset.id })
    },
    onMore() {
      go('hospitals')
    },
  },
})
