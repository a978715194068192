// 讨论区: the sections as tabs (全部 first), posts newest first or by the latest reply, 20 a
// page (more at the bottom, pull-down refresh); 发帖 opens the form with the current section,
// 我的帖子 the caller's own posts.
const board = require('../../../services/board')
const pagedList = require('../../../behaviors/paged-list')
const { go } = require('../../../utils/routes')
const { postView } = require('../view')

const ALL = { key: 'all', label: '全部' }
const SORTS = [{ key: 'latest', label: '最新发布' }, { key: 'active', label: '最新回复' }]

Component({
  behaviors: [pagedList],
  data: { tabs: [ALL], tab: 'all', sorts: SORTS, sort: 'latest' },
  methods: {
    async onLoad(query = {}) {
      try {
        const sections = await board.sections({ toast: false })
        this.setData({ tabs: [ALL].concat(sections.map((s) => ({ key: s.code, label: s.name }))) })
        this.selectTabFromQuery(query)
      } catch (err) {
        // the posts of every section can still be read; the tabs come back on the next visit
      }
      return this.load()
    },
    onShow() {
      return this.reloadWhenShownAgain() // back from posting or deleting
    },
    listKey() {
      return `${this.data.tab}|${this.data.sort}`
    },
    fetchPage(paging, options) {
      const query = { sort: this.data.sort, ...paging }
      if (this.data.tab !== 'all') query.section = this.data.tab
      return board.posts(query, options)
    },
    pageItems(result) {
      return result.items.map(postView)
    },
    onSort(e) {
      const { key } = e.currentTarget.dataset
      if (key === this.data.sort) return null
      this.setData({ sort: key, items: [] })
      return this.load()
    },
    onOpen(e) {
      go('boardPost', { id: e.currentTarget.dataset.id })
    },
    onCompose() {
      go('boardCompose', this.data.tab === 'all' ? {} : { section: this.data.tab })
    },
    onMine() {
      go('boardMine')
    },
  },
})
