// 我的帖子: the caller's own posts, newest first, 20 a page. Posts the moderators hid, and
// posts the caller deleted, are not listed (the board shows them to no user).
const board = require('../../../services/board')
const pagedList = require('../../../behaviors/paged-list')
const { go } = require('../../../utils/routes')
const { postView } = require('../view')

Component({
  behaviors: [pagedList],
  methods: {
    onLoad() {
      return this.load()
    },
    onShow() {
      return this.reloadWhenShownAgain()
    },
    listKey() {
      return 'mine'
    },
    fetchPage(paging, options) {
      return board.mine(paging, options)
    },
    pageItems(result) {
      return result.items.map(postView)
    },
    onOpen(e) {
      go('boardPost', { id: e.currentTarget.dataset.id })
    },
    onCompose() {
      go('boardCompose')
    },
  },
})
