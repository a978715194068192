// 消息: the inbox, newest first; a tap marks the message read and opens what it is about.
// The tab's badge follows the unread count (services/notifications.refreshBadge).
const notifications = require('../../services/notifications')
const { dateTime } = require('../../utils/format')
const { go, notificationTarget } = require('../../utils/routes')

const PAGE_SIZE = 20

const view = (n) => ({ ...n, time: dateTime(n.created_at), unread: !n.read_at })

Component({
  data: { items: [], page: 1, hasMore: false, unread: 0, state: 'loading', errorText: '' },
  methods: {
    onLoad() {
      return this.load()
    },
    onShow() {
      return this.refreshUnread()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    onReachBottom() {
      return this.data.hasMore ? this.load(this.data.page + 1) : null
    },
    async load(page = 1) {
      if (page === 1) this.setData({ state: 'loading' })
      try {
        const result = await notifications.list({ page, page_size: PAGE_SIZE }, { toast: page > 1 })
        const fresh = result.items.map(view)
        const items = page === 1 ? fresh : this.data.items.concat(fresh)
        this.setData({ items, page, hasMore: items.length < result.total,
          state: items.length ? '' : 'empty' })
        await this.refreshUnread()
      } catch (err) {
        if (page === 1) this.setData({ state: 'error', errorText: err.message })
      }
    },
    async refreshUnread() {
      const unread = await notifications.refreshBadge()
      if (unread !== null) this.setData({ unread })
    },
    async onOpen(e) {
      const { index } = e.currentTarget.dataset
      const item = this.data.items[index]
      if (item.unread) {
        this.setData({ [`items[${index}].unread`]: false })
        notifications.read(item.id, { toast: false }).then(() => this.refreshUnread(), () => {})
      }
      const target = notificationTarget(item)
      if (target) go(target[0], target[1])
    },
    async onReadAll() {
      await notifications.readAll()
      this.setData({ items: this.data.items.map((n) => ({ ...n, unread: false })) })
      await this.refreshUnread()
    },
  },
})
