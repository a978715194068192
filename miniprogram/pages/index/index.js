// Written with Component() so miniprogram-simulate can load it in tests.
const auth = require('../../services/auth')

Component({
  data: { loading: true, user: null, error: '' },
  methods: {
    async onLoad() {
      try {
        await auth.ensureLogin()
        this.setData({ user: await auth.me(), loading: false })
      } catch (err) {
        this.setData({ error: err.message || '加载失败', loading: false })
      }
    },
  },
})
