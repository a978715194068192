// 陪护订单: the family's care orders by status tab (CARE_ORDER_TABS), 20 a page (more on
// reaching the bottom). Cards offer 去支付 (unpaid), 确认完成 (service ended) and 去评价
// (completed); a tap opens the order.
const careOrders = require('../../../services/care_orders')
const payments = require('../../../services/payments')
const pagedList = require('../../../behaviors/paged-list')
const { CARE_ORDER_TABS } = require('../../../utils/status')
const { go } = require('../../../utils/routes')

const ACTIONS = {
  pending_payment: [{ key: 'pay', label: '去支付', primary: true }],
  awaiting_confirmation: [{ key: 'confirm', label: '确认完成', primary: true }],
  completed: [{ key: 'review', label: '去评价' }],
}

Component({
  behaviors: [pagedList],
  data: {
    tabs: CARE_ORDER_TABS,
    tab: 'all',
  },
  methods: {
    onLoad(query = {}) {
      this.selectTabFromQuery(query)
      return this.load()
    },
    // back from an order page: its status may have changed
    onShow() {
      return this.reloadWhenShownAgain()
    },
    fetchPage(paging, options) {
      return careOrders.list({ status: this.tabStatuses(), ...paging }, options)
    },
    pageItems(result) {
      return result.items.map((o) => ({ ...o, actions: ACTIONS[o.status] || [] }))
    },
    onOpen(e) {
      go('careOrder', { id: e.detail.id })
    },
    onFind() {
      go('careSearch')
    },
    async onAction(e) {
      const { key, id } = e.detail
      if (key === 'review') {
        go('careReview', { id })
        return
      }
      if (key === 'pay') {
        try {
          await payments.payOrder(payments.ORDER_TYPES.careOrder, id)
          wx.showToast({ title: '支付成功', icon: 'success' })
        } catch (err) { /* payments has shown why */ }
      } else if (key === 'confirm') {
        const ok = await new Promise((resolve) => wx.showModal({
          title: '确认服务完成',
          content: '确认护工已完成本次服务?确认后订单完成,可以评价护工。',
          success: (res) => resolve(!!res.confirm),
          fail: () => resolve(false),
        }))
        if (!ok) return
        try {
          await careOrders.confirm(id)
          wx.showToast({ title: '已确认完成', icon: 'success' })
        } catch (err) { /* toasted */ }
      }
      await this.load()
    },
  },
})
