// 陪护订单详情: GET /care-orders/{id} with its progress (timeline), the caregiver's service
// records once the service has started (their photos need the token, so services/files.js
// downloads each to a temp path for <image>; tap to preview), the price and refunds, and what
// the family can do in this status: 去支付, 取消订单 (the refund the policy gives is shown
// before and after), 确认完成, 评价 / my review, 申请纠纷.
const careOrders = require('../../../services/care_orders')
const files = require('../../../services/files')
const payments = require('../../../services/payments')
const { yuan, dateTime } = require('../../../utils/format')
const { go } = require('../../../utils/routes')
const { stars, UNIT_NAMES } = require('../common')

const ACTOR_NAMES = { family: '家属', caregiver: '护工', staff: '平台', system: '系统' }
const DISPUTABLE = ['accepted', 'in_service', 'awaiting_confirmation', 'completed']
const REVIEWABLE = ['completed', 'resolved']

const showModal = (options) => new Promise((resolve) => wx.showModal({
  ...options,
  success: (res) => resolve(!!(res && res.confirm)),
  fail: () => resolve(false),
}))

// what 取消订单 means for the money (cancel_by_family in app/care_orders/services.py)
function cancelPolicy(o) {
  const paid = (o.price ? o.price.total_fen : 0) - (o.refunded_fen || 0)
  switch (o.status) {
    case 'pending_payment':
      return { allowed: true, text: '订单尚未支付,取消后不产生任何费用。' }
    case 'awaiting_acceptance':
      return { allowed: true, text: `护工尚未接单,取消后全额退款 ¥${yuan(paid)},原路退回。` }
    case 'accepted':
      if (new Date(o.start).getTime() <= Date.now()) return { allowed: false, text: '' }
      return { allowed: true, text: `护工已接单,服务开始前取消按平台规则部分退款(已付 ¥${yuan(paid)}),其余作为护工的误工补偿。` }
    default:
      return { allowed: false, text: '' }
  }
}

function actionsFor(o, reviewed) {
  const actions = []
  if (o.status === 'pending_payment') actions.push({ key: 'pay', label: '去支付', primary: true })
  if (o.status === 'awaiting_confirmation') actions.push({ key: 'confirm', label: '确认完成', primary: true })
  if (REVIEWABLE.includes(o.status) && reviewed === false) actions.push({ key: 'review', label: '评价护工', primary: true })
  if (cancelPolicy(o).allowed) actions.push({ key: 'cancel', label: '取消订单' })
  if (DISPUTABLE.includes(o.status)) actions.push({ key: 'dispute', label: '申请纠纷' })
  return actions
}

function orderView(o) {
  const place = o.hospital ? [o.hospital.name, o.department, o.bed].filter(Boolean).join(' ') : o.address
  return {
    title: o.care_type_name,
    unit: UNIT_NAMES[o.care_type] || '',
    place: place || '',
    time: `${dateTime(o.start)} 至 ${dateTime(o.end)}`,
    patient: o.patient_name,
    caregiver: o.caregiver ? o.caregiver.name : '平台派单中',
    needs: o.needs || '',
    total: yuan(o.price && o.price.total_fen),
    refunded: o.refunded_fen ? yuan(o.refunded_fen) : '',
    deadline: o.status === 'awaiting_acceptance' && o.acceptance_deadline
      ? `护工将在 ${dateTime(o.acceptance_deadline)} 前确认接单,超时平台将为您重新派单或全额退款` : '',
    cancelReason: o.cancel_reason || '',
    created: dateTime(o.created_at),
    events: (o.timeline || []).map((e, i) => ({
      key: `${i}`,
      at: dateTime(e.at),
      title: e.status_name,
      who: ACTOR_NAMES[e.actor] || '',
      note: e.note || '',
    })).reverse(),
  }
}

function recordView(r) {
  return {
    id: r.id,
    at: dateTime(r.recorded_at),
    condition: r.condition || '',
    careGiven: r.care_given || '',
    photos: (r.photo_urls || []).map((u) => ({ url: u, path: '', failed: false })),
  }
}

function reviewView(r) {
  return {
    stars: stars(r.stars),
    tags: (r.tags || []).map((t) => t.name),
    text: r.text || '',
    reply: r.reply || '',
  }
}

Component({
  data: {
    id: null,
    order: null,
    view: null,
    records: [],
    review: null,
    actions: [],
    state: 'loading',
    errorText: '',
    busy: false,
  },
  methods: {
    onLoad(query = {}) {
      this.setData({ id: Number(query.id) || null })
      return this.load()
    },
    // back from the review or dispute page: show what changed
    onShow() {
      if (this.shown) return this.load(true)
      this.shown = true
      return null
    },
    async onPullDownRefresh() {
      await this.load(true)
      wx.stopPullDownRefresh()
    },
    // the error state's 重试 (bind:retry): not load itself, whose quiet the event would fill
    retry() {
      return this.load()
    },
    async load(quiet = false) {
      const { id } = this.data
      if (!id) {
        this.setData({ state: 'error', errorText: '订单不存在' })
        return
      }
      if (!quiet || !this.data.order) this.setData({ state: 'loading' })
      try {
        const order = await careOrders.detail(id, { toast: false })
        const [records, review] = await Promise.all([
          order.started_at ? careOrders.records(id, { toast: false }).catch(() => []) : [],
          REVIEWABLE.includes(order.status) ? this.loadReview(id) : null,
        ])
        const reviewed = REVIEWABLE.includes(order.status) && review !== undefined ? !!review : null
        this.setData({
          order,
          view: orderView(order),
          records: records.map(recordView),
          review: review ? reviewView(review) : null,
          actions: actionsFor(order, reviewed),
          state: '',
        })
        this.loadPhotos()
      } catch (err) {
        if (!quiet || !this.data.order) this.setData({ state: 'error', errorText: err.message })
      }
    },
    // my review, or null when there is none yet (404 review_not_found)
    async loadReview(id) {
      try {
        return await careOrders.review(id, { toast: false })
      } catch (err) {
        if (err.status === 404) return null
        return undefined // unknown: offer nothing rather than a button that may fail
      }
    },
    // service-record photos: downloaded with the token, one by one as they arrive
    loadPhotos() {
      this.data.records.forEach((r, ri) => r.photos.forEach((p, pi) => {
        if (p.path) return
        files.download(p.url, { toast: false })
          .then((path) => this.setData({ [`records[${ri}].photos[${pi}].path`]: path, [`records[${ri}].photos[${pi}].failed`]: false }))
          .catch(() => this.setData({ [`records[${ri}].photos[${pi}].failed`]: true }))
      }))
    },
    onPhoto(e) {
      const { record, index } = e.currentTarget.dataset
      const photo = this.data.records[record].photos[index]
      if (!photo.path) {
        if (photo.failed) this.loadPhotos() // tap a failed one to try again
        return
      }
      const urls = this.data.records[record].photos.map((p) => p.path).filter(Boolean)
      wx.previewImage({ current: photo.path, urls })
    },
    onCaregiver() {
      const { order } = this.data
      if (order && order.caregiver) go('caregiver', { id: order.caregiver.id })
    },

    async onAction(e) {
      const { key } = e.currentTarget.dataset
      if (this.data.busy) return
      if (key === 'review') go('careReview', { id: this.data.id })
      else if (key === 'dispute') go('careDispute', { id: this.data.id })
      else if (key === 'pay') await this.run(() => this.pay())
      else if (key === 'cancel') await this.run(() => this.cancel())
      else if (key === 'confirm') await this.run(() => this.confirm())
    },
    async run(task) {
      this.setData({ busy: true })
      try {
        await task()
      } finally {
        this.setData({ busy: false })
      }
    },
    async pay() {
      try {
        await payments.payOrder(payments.ORDER_TYPES.careOrder, this.data.id)
        wx.showToast({ title: '支付成功', icon: 'success' })
      } catch (err) { /* payments has shown why */ }
      await this.load(true)
    },
    async cancel() {
      const { order } = this.data
      const policy = cancelPolicy(order)
      const ok = await showModal({ title: '取消订单', content: policy.text, confirmText: '确认取消', cancelText: '再想想' })
      if (!ok) return
      let result
      try {
        result = await careOrders.cancel(this.data.id, {})
      } catch (err) {
        await this.load(true) // toasted; the status may have moved on (e.g. the service started)
        return
      }
      const refund = (result.refunded_fen || 0) - (order.refunded_fen || 0)
      wx.showToast({ title: refund > 0 ? `已取消,退款 ¥${yuan(refund)} 将原路退回` : '订单已取消', icon: 'none', duration: 3000 })
      await this.load(true)
    },
    async confirm() {
      const ok = await showModal({ title: '确认服务完成', content: '确认护工已完成本次服务?确认后订单完成,可以评价护工。' })
      if (!ok) return
      try {
        await careOrders.confirm(this.data.id)
        wx.showToast({ title: '已确认完成', icon: 'success' })
      } catch (err) { /* toasted */ }
      await this.load(true)
    },
  },
})
