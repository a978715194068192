// App shell: signs in once at launch and keeps the 消息 badge current. Pages call services/,
// never wx.request (tests/no-direct-network.test.js enforces it).
const auth = require('./services/auth')
const notifications = require('./services/notifications')

App({
  onLaunch() {
    auth.ensureLogin().catch(() => {
      // the first page's own request signs in again and shows the error state
    })
  },
  onShow() {
    notifications.refreshBadge()
  },
})
