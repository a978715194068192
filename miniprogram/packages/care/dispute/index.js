// 申请纠纷: one per order (paid, or completed within the dispute period). A description of
// 10–1000 characters and up to 9 evidence photos, each uploaded through services/files.js
// (purpose attachment) as soon as it is chosen; the body carries their file ids.
const careOrders = require('../../../services/care_orders')
const files = require('../../../services/files')
const { dateTime } = require('../../../utils/format')
const { submitForm } = require('../../../utils/form')
const { chooseImages } = require('../../../utils/images')

const MIN_TEXT = 10
const MAX_TEXT = 1000
const MAX_EVIDENCE = 9

Component({
  data: {
    id: null,
    state: 'loading',
    errorText: '',
    order: null,
    text: '',
    textCount: 0,
    evidence: [], // [{path, fileId, uploading, failed}]
    maxEvidence: MAX_EVIDENCE,
    errors: {},
    submitting: false,
  },
  methods: {
    onLoad(query = {}) {
      this.setData({ id: Number(query.id) || null })
      return this.load()
    },
    async load() {
      if (!this.data.id) {
        this.setData({ state: 'error', errorText: '订单不存在' })
        return
      }
      this.setData({ state: 'loading' })
      try {
        const o = await careOrders.detail(this.data.id, { toast: false })
        this.setData({
          order: {
            no: o.order_no,
            title: o.care_type_name,
            statusName: o.status_name,
            caregiver: o.caregiver ? o.caregiver.name : '',
            time: `${dateTime(o.start)} 至 ${dateTime(o.end)}`,
          },
          state: '',
        })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    onText(e) {
      const text = e.detail.value
      this.setData({ text, textCount: text.length, 'errors.text': '' })
    },
    async onAddPhoto() {
      const room = MAX_EVIDENCE - this.data.evidence.length
      if (room <= 0) {
        wx.showToast({ title: `最多上传 ${MAX_EVIDENCE} 张`, icon: 'none' })
        return
      }
      const paths = await chooseImages(room)
      if (!paths.length) return
      const start = this.data.evidence.length
      const added = paths.slice(0, room).map((path) => ({ path, fileId: null, uploading: true, failed: false }))
      this.setData({ evidence: this.data.evidence.concat(added), 'errors.evidence_file_ids': '' })
      await Promise.all(added.map((item, i) => this.upload(start + i)))
    },
    async upload(index) {
      const item = this.data.evidence[index]
      if (!item) return
      this.setData({ [`evidence[${index}].uploading`]: true, [`evidence[${index}].failed`]: false })
      try {
        const file = await files.upload(item.path, files.PURPOSES.attachment)
        // the list may have changed meanwhile: find the item by its path
        const at = this.data.evidence.findIndex((e) => e.path === item.path)
        if (at >= 0) this.setData({ [`evidence[${at}].fileId`]: file.id, [`evidence[${at}].uploading`]: false })
      } catch (err) {
        const at = this.data.evidence.findIndex((e) => e.path === item.path)
        if (at >= 0) this.setData({ [`evidence[${at}].uploading`]: false, [`evidence[${at}].failed`]: true })
      }
    },
    onRetryPhoto(e) {
      return this.upload(Number(e.currentTarget.dataset.index))
    },
    onRemovePhoto(e) {
      const index = Number(e.currentTarget.dataset.index)
      const evidence = this.data.evidence.slice()
      evidence.splice(index, 1)
      this.setData({ evidence })
    },
    onPreview(e) {
      const index = Number(e.currentTarget.dataset.index)
      wx.previewImage({ current: this.data.evidence[index].path, urls: this.data.evidence.map((p) => p.path) })
    },
    check() {
      const errors = {}
      const length = this.data.text.trim().length
      if (length < MIN_TEXT || length > MAX_TEXT) errors.text = `纠纷说明需 ${MIN_TEXT}–${MAX_TEXT} 字`
      if (this.data.evidence.some((p) => p.uploading)) errors.evidence_file_ids = '照片上传中,请稍候'
      else if (this.data.evidence.some((p) => p.failed)) errors.evidence_file_ids = '有照片上传失败,请重试或删除'
      return errors
    },
    onSubmit() {
      return submitForm(this, {
        send: async () => {
          await careOrders.dispute(this.data.id, {
            text: this.data.text.trim(),
            evidence_file_ids: this.data.evidence.map((p) => p.fileId),
          })
          wx.showToast({ title: '已提交,平台将尽快处理', icon: 'none', duration: 2500 })
          wx.navigateBack()
        },
      })
    },
  },
})
