// The paging the list pages share (behaviors: [pagedList]): page 1 on load, pull-down refresh
// and each change of filter or tab; the next page on reaching the bottom, one at a time. A reply
// for filters that are no longer the latest asked for is dropped; only a failed first page shows
// the error state (a failed later page has been toasted and keeps the list).
//
// The page defines fetchPage(paging, options), the service call (paging = {page, page_size},
// options = {toast}), and may override listKey, pageItems, pageData, afterPage and pageError.
// Tabs (data.tabs = [{key, label, statuses?}], data.tab): onTab, selectTabFromQuery, tabStatuses.
const PAGE_SIZE = 20

module.exports = Behavior({
  data: { items: [], page: 1, hasMore: false, loadingMore: false, state: 'loading', errorText: '' },
  methods: {
    async load(page = 1) {
      const key = this.listKey()
      this.latestListKey = key
      const isLatest = () => key === this.latestListKey
      if (page === 1) this.setData({ state: 'loading' })
      // only a change is set: most loads are first pages with nothing to reset
      if (page > 1 || this.data.loadingMore) this.setData({ loadingMore: page > 1 })
      try {
        const result = await this.fetchPage({ page, page_size: PAGE_SIZE }, { toast: page > 1 })
        if (!isLatest()) return // the filters changed meanwhile
        const fresh = this.pageItems(result)
        const items = page === 1 ? fresh : this.data.items.concat(fresh)
        this.setData({
          items, page, hasMore: items.length < result.total, state: items.length ? '' : 'empty',
          ...this.pageData(result, items),
        })
        await this.afterPage(items)
      } catch (err) {
        if (page === 1 && isLatest()) {
          this.setData({ state: 'error', errorText: this.pageError(err) })
        }
      } finally {
        if (this.data.loadingMore) this.setData({ loadingMore: false })
      }
    },
    // what the list is filtered by (compared with ===); a reply for another key is dropped
    listKey() {
      return this.data.tab
    },
    // the page's items as shown
    pageItems(result) {
      return result.items
    },
    // more data set with the items (totals, the empty state's text)
    pageData() {
      return {}
    },
    // what follows the items being shown
    afterPage() {},
    // the error state's text
    pageError(err) {
      return err.message
    },
    retry() {
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    onReachBottom() {
      if (this.data.hasMore && !this.data.loadingMore) return this.load(this.data.page + 1)
      return null
    },
    // for onShow: the first show comes with onLoad's load; a later one (back from a detail page,
    // where the order may have changed) loads again
    reloadWhenShownAgain() {
      if (this.shownBefore) return this.load()
      this.shownBefore = true
      return null
    },

    selectTabFromQuery(query) {
      if (query && this.data.tabs.some((t) => t.key === query.tab)) this.setData({ tab: query.tab })
    },
    tabStatuses() {
      return this.data.tabs.find((t) => t.key === this.data.tab).statuses
    },
    onTab(e) {
      const { key } = e.currentTarget.dataset
      if (key === this.data.tab) return null
      this.setData({ tab: key, items: [] })
      return this.load()
    },
  },
})
