// 消息: the inbox, newest first; a tap marks the message read and opens what it is about.
// The tab's badge follows the unread count (services/notifications.refreshBadge).
const notifications = require('../../services/notifications')
const pagedList = require('../../behaviors/paged-list')
const { dateTime } = require('../../utils/format')
const { go, notificationTarget } = require('../../utils/routes')

const view = (n) => ({ ...n, time: dateTime(n.created_at), unread: !n.read_at })

Component({
  behaviors: [pagedList],
  data: { unread: 0 },
  methods: {
    onLoad() {
      return this.load()
    },
    onShow() {
      return this.refreshUnread()
    },
    fetchPage(paging, options) {
      return notifications.list(paging, options)
    },
    pageItems(result) {
      return result.items.map(view)
    },
    afterPage() {
      return this.refreshUnread()
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
