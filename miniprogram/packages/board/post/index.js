// 发帖: a section (the one the list was showing, or picked here), a title (2–64 characters), the
// text (up to 5000) and up to 9 pictures, each uploaded through services/files.js
// (purpose board_image) as soon as it is chosen; the post carries their file ids. The server
// refuses HTML tags and banned words with a message naming the problem, shown under the field.
const board = require('../../../services/board')
const files = require('../../../services/files')
const { submitForm } = require('../../../utils/form')
const { chooseImages } = require('../../../utils/images')
const { url } = require('../../../utils/routes')

const MIN_TITLE = 2
const MAX_TITLE = 64
const MAX_BODY = 5000

Component({
  data: {
    state: 'loading',
    errorText: '',
    sections: [],
    section: '',
    title: '',
    body: '',
    bodyCount: 0,
    images: [], // [{path, fileId, uploading, failed}]
    maxImages: board.MAX_IMAGES,
    maxTitle: MAX_TITLE,
    maxBody: MAX_BODY,
    errors: {},
    submitting: false,
  },
  methods: {
    async onLoad(query = {}) {
      this.wanted = query.section || ''
      return this.load()
    },
    async load() {
      this.setData({ state: 'loading' })
      try {
        const sections = await board.sections({ toast: false })
        const known = sections.some((s) => s.code === this.wanted)
        this.setData({ sections, section: known ? this.wanted : '', state: '' })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    onSection(e) {
      this.setData({ section: e.currentTarget.dataset.code, 'errors.section': '' })
    },
    onTitle(e) {
      this.setData({ title: e.detail.value, 'errors.title': '' })
    },
    onBody(e) {
      const body = e.detail.value
      this.setData({ body, bodyCount: body.length, 'errors.body': '' })
    },
    async onAddImage() {
      const room = board.MAX_IMAGES - this.data.images.length
      if (room <= 0) {
        wx.showToast({ title: `最多 ${board.MAX_IMAGES} 张图片`, icon: 'none' })
        return
      }
      const paths = await chooseImages(room)
      if (!paths.length) return
      const start = this.data.images.length
      const added = paths.slice(0, room).map((path) => ({ path, fileId: null, uploading: true, failed: false }))
      this.setData({ images: this.data.images.concat(added), 'errors.image_ids': '' })
      await Promise.all(added.map((item, i) => this.upload(start + i)))
    },
    async upload(index) {
      const item = this.data.images[index]
      if (!item) return
      this.setData({ [`images[${index}].uploading`]: true, [`images[${index}].failed`]: false })
      const at = () => this.data.images.findIndex((e) => e.path === item.path)
      try {
        const file = await files.upload(item.path, files.PURPOSES.boardImage)
        if (at() >= 0) this.setData({ [`images[${at()}].fileId`]: file.id, [`images[${at()}].uploading`]: false })
      } catch (err) {
        if (at() >= 0) this.setData({ [`images[${at()}].uploading`]: false, [`images[${at()}].failed`]: true })
      }
    },
    onRetryImage(e) {
      return this.upload(Number(e.currentTarget.dataset.index))
    },
    onRemoveImage(e) {
      const images = this.data.images.slice()
      images.splice(Number(e.currentTarget.dataset.index), 1)
      this.setData({ images })
    },
    check() {
      const errors = {}
      const title = this.data.title.trim()
      if (!this.data.section) errors.section = '请选择版块'
      if (title.length < MIN_TITLE || title.length > MAX_TITLE) errors.title = `标题需 ${MIN_TITLE}–${MAX_TITLE} 字`
      if (!this.data.body.trim()) errors.body = '请输入正文'
      if (this.data.images.some((p) => p.uploading)) errors.image_ids = '图片上传中,请稍候'
      else if (this.data.images.some((p) => p.failed)) errors.image_ids = '有图片上传失败,请重试或删除'
      return errors
    },
    onSubmit() {
      return submitForm(this, {
        send: async () => {
          const post = await board.create({
            section: this.data.section,
            title: this.data.title.trim(),
            body: this.data.body.trim(),
            image_ids: this.data.images.map((p) => p.fileId),
          })
          wx.showToast({ title: '发布成功', icon: 'success' })
          wx.redirectTo({ url: url('boardPost', { id: post.id }) })
        },
      })
    },
  },
})
