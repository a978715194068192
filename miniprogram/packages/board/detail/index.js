// 帖子详情: the post (its images fetched with the token through files.download), the replies
// oldest first, 20 a page (more at the bottom), a reply box at the bottom, 举报 of the post or
// of a reply (a reason picked from a list; once each), and 删除 of one's own post or reply.
// A post hidden by the moderators or deleted answers 404: the page says it is gone.
const board = require('../../../services/board')
const files = require('../../../services/files')
const pagedList = require('../../../behaviors/paged-list')
const { postView, replyView } = require('../view')

const REPORT_REASONS = ['广告或推销', '辱骂或人身攻击', '虚假或误导信息', '违法违规内容', '泄露他人隐私']
const MAX_REPLY = 1000

Component({
  behaviors: [pagedList],
  data: { id: null, post: null, postState: 'loading', postError: '', replyText: '', sending: false, maxReply: MAX_REPLY },
  methods: {
    async onLoad(query = {}) {
      this.setData({ id: Number(query.id) || null })
      if (!this.data.id) {
        this.setData({ postState: 'error', postError: '帖子不存在或已被删除', state: '' })
        return
      }
      await this.loadPost()
      if (this.data.post) await this.load()
    },
    async loadPost() {
      this.setData({ postState: 'loading' })
      try {
        const post = postView(await board.detail(this.data.id, { toast: false }))
        this.setData({ post, postState: '' })
        this.showImages()
      } catch (err) {
        this.setData({ postState: 'error', postError: err.message, state: '' })
      }
    },
    // each picture as it arrives; one that fails stays a grey box
    showImages() {
      this.data.post.images.forEach((image, index) => {
        files.download(image.url, { toast: false })
          .then((path) => this.setData({ [`post.images[${index}].path`]: path }))
          .catch(() => {})
      })
    },
    retryPost() {
      return this.onLoad({ id: this.data.id })
    },
    listKey() {
      return this.data.id
    },
    fetchPage(paging, options) {
      return board.replies(this.data.id, paging, options)
    },
    pageItems(result) {
      const first = (result.page - 1) * result.page_size
      return result.items.map((r, i) => replyView(r, first + i + 1))
    },
    pageData(result) {
      return { 'post.replies': result.total }
    },
    onPreview(e) {
      const paths = this.data.post.images.map((i) => i.path).filter(Boolean)
      const current = this.data.post.images[Number(e.currentTarget.dataset.index)].path
      if (current) wx.previewImage({ current, urls: paths })
    },
    onReplyInput(e) {
      this.setData({ replyText: e.detail.value })
    },
    async onSend() {
      const body = this.data.replyText.trim()
      if (this.data.sending) return
      if (!body) {
        wx.showToast({ title: '请输入回复内容', icon: 'none' })
        return
      }
      this.setData({ sending: true })
      try {
        await board.reply(this.data.id, body)
        this.setData({ replyText: '' })
        wx.showToast({ title: '已回复', icon: 'success' })
        await this.load() // the new reply is the last: reload from the first page
      } catch (err) {
        // the request wrapper has shown why (banned word, markup, too often, post gone)
      } finally {
        this.setData({ sending: false })
      }
    },
    chooseReason() {
      return new Promise((resolve) => {
        wx.showActionSheet({
          itemList: REPORT_REASONS,
          success: (res) => resolve(REPORT_REASONS[res.tapIndex] || null),
          fail: () => resolve(null),
        })
      })
    },
    async onReportPost() {
      const reason = await this.chooseReason()
      if (!reason) return
      try {
        await board.reportPost(this.data.id, reason)
        wx.showToast({ title: '已举报,感谢反馈', icon: 'none' })
      } catch (err) { /* toasted: already reported, gone */ }
    },
    async onReportReply(e) {
      const reason = await this.chooseReason()
      if (!reason) return
      try {
        await board.reportReply(Number(e.currentTarget.dataset.id), reason)
        wx.showToast({ title: '已举报,感谢反馈', icon: 'none' })
      } catch (err) { /* toasted */ }
    },
    confirm(content) {
      return new Promise((resolve) => {
        wx.showModal({ title: '删除', content, success: (res) => resolve(!!res.confirm), fail: () => resolve(false) })
      })
    },
    async onDeletePost() {
      if (!(await this.confirm('删除后其他用户将看不到这个帖子,确定删除?'))) return
      try {
        await board.remove(this.data.id)
        wx.showToast({ title: '已删除', icon: 'success' })
        wx.navigateBack()
      } catch (err) { /* toasted */ }
    },
    async onDeleteReply(e) {
      if (!(await this.confirm('确定删除这条回复?'))) return
      try {
        await board.removeReply(Number(e.currentTarget.dataset.id))
        await this.load()
      } catch (err) { /* toasted */ }
    },
  },
})
