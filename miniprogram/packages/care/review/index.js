// 评价: a completed care order's review (1–5 stars, up to 5 tags from GET /review-tags, an
// optional text shown publicly on the caregiver's page). An order already reviewed shows the
// review and the caregiver's reply instead of the form.
const careOrders = require('../../../services/care_orders')
const { yuan, dateTime } = require('../../../utils/format')
const { submitForm } = require('../../../utils/form')
const { stars } = require('../common')

const STAR_TEXTS = ['', '非常差', '差', '一般', '满意', '非常满意']
const MAX_TAGS = 5
const MAX_TEXT = 500

Component({
  data: {
    id: null,
    state: 'loading',
    errorText: '',
    order: null, // {title, caregiver, time, total}
    existing: null, // the review already written
    starList: [1, 2, 3, 4, 5],
    stars: 0,
    starText: '请为护工打分',
    goodTags: [],
    badTags: [],
    text: '',
    textCount: 0,
    errors: {},
    submitting: false,
  },
  methods: {
    onLoad(query = {}) {
      this.setData({ id: Number(query.id) || null })
      return this.load()
    },
    async load() {
      const { id } = this.data
      if (!id) {
        this.setData({ state: 'error', errorText: '订单不存在' })
        return
      }
      this.setData({ state: 'loading' })
      try {
        const [order, tags, existing] = await Promise.all([
          careOrders.detail(id, { toast: false }),
          careOrders.reviewTags({ toast: false }),
          careOrders.review(id, { toast: false }).catch((err) => {
            if (err.status === 404) return null
            throw err
          }),
        ])
        const tagView = (t) => ({ code: t.code, name: t.name, selected: false })
        this.setData({
          order: {
            title: order.care_type_name,
            caregiver: order.caregiver ? order.caregiver.name : '',
            time: `${dateTime(order.start)} 至 ${dateTime(order.end)}`,
            total: yuan(order.price && order.price.total_fen),
            completed: ['completed', 'resolved'].includes(order.status),
          },
          existing: existing ? {
            stars: stars(existing.stars),
            starText: STAR_TEXTS[existing.stars],
            tags: existing.tags.map((t) => t.name),
            text: existing.text || '',
            reply: existing.reply || '',
            at: dateTime(existing.created_at),
          } : null,
          goodTags: tags.filter((t) => t.positive).map(tagView),
          badTags: tags.filter((t) => !t.positive).map(tagView),
          state: '',
        })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    onStar(e) {
      const stars = Number(e.currentTarget.dataset.star)
      this.setData({ stars, starText: STAR_TEXTS[stars], 'errors.stars': '' })
    },
    onTag(e) {
      const { group, index } = e.currentTarget.dataset
      const list = this.data[group]
      const selected = this.selectedTags()
      if (!list[index].selected && selected.length >= MAX_TAGS) {
        wx.showToast({ title: `最多选择 ${MAX_TAGS} 个标签`, icon: 'none' })
        return
      }
      this.setData({ [`${group}[${index}].selected`]: !list[index].selected, 'errors.tags': '' })
    },
    selectedTags() {
      return this.data.goodTags.concat(this.data.badTags).filter((t) => t.selected).map((t) => t.code)
    },
    onText(e) {
      const text = e.detail.value
      this.setData({ text, textCount: text.length, 'errors.text': '' })
    },
    check() {
      const errors = {}
      if (!(this.data.stars >= 1 && this.data.stars <= 5)) errors.stars = '请选择 1–5 星评分'
      if (this.selectedTags().length > MAX_TAGS) errors.tags = `最多选择 ${MAX_TAGS} 个标签`
      if (this.data.text.trim().length > MAX_TEXT) errors.text = `评价内容不超过 ${MAX_TEXT} 字`
      return errors
    },
    onSubmit() {
      return submitForm(this, {
        send: async () => {
          const body = { stars: this.data.stars, tags: this.selectedTags() }
          const text = this.data.text.trim()
          if (text) body.text = text
          await careOrders.createReview(this.data.id, body)
          wx.showToast({ title: '评价成功', icon: 'success' })
          wx.navigateBack()
        },
        // reviewed meanwhile (another device): show that review instead of the form
        failed: (err) => (err.code === 'already_reviewed' ? this.load() : null),
      })
    },
  },
})
