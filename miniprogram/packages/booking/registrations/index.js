// 我的挂号: registrations by status tab (utils/status.js REGISTRATION_TABS), 20 a page with
// more on reaching the bottom. An unpaid one can be paid from its card; a tap opens it.
const booking = require('../../../services/booking')
const payments = require('../../../services/payments')
const pagedList = require('../../../behaviors/paged-list')
const { REGISTRATION_TABS } = require('../../../utils/status')
const { go } = require('../../../utils/routes')

const PAY_ACTION = [{ key: 'pay', label: '去支付', primary: true }]

Component({
  behaviors: [pagedList],
  data: {
    tabs: REGISTRATION_TABS,
    tab: 'all',
    payAction: PAY_ACTION,
  },
  methods: {
    onLoad(query = {}) {
      this.selectTabFromQuery(query)
      return this.load()
    },
    // back from a registration (paid, cancelled): show its new state
    onShow() {
      return this.reloadWhenShownAgain()
    },
    fetchPage(paging, options) {
      return booking.list({ status: this.tabStatuses(), ...paging }, options)
    },
    pageData(result, items) {
      return { errorText: items.length ? '' : '暂无挂号记录' }
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
