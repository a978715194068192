// App shell: logs in once at launch; pages call services/, never wx.request directly.
const auth = require('./services/auth')

App({
  onLaunch() {
    auth.ensureLogin().catch(() => {
      // the first page shows the error state; nothing to do here
    })
  },
})
