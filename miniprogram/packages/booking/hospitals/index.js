// 选择医院: keyword, level and region filters (the region picker's most specific code), 20 a
// page with more on reaching the bottom. A tap opens the hospital.
const hospitals = require('../../../services/hospitals')
const { go } = require('../../../utils/routes')

const PAGE_SIZE = 20
// the API's level enum with the backend's names (app/hospitals/models.py HOSPITAL_LEVELS)
const LEVELS = [
  { key: '', label: '全部等级' },
  { key: '3A', label: '三级甲等' }, { key: '3B', label: '三级乙等' }, { key: '3C', label: '三级丙等' },
  { key: '2A', label: '二级甲等' }, { key: '2B', label: '二级乙等' }, { key: '2C', label: '二级丙等' },
  { key: '1', label: '一级' },
]

// query values may arrive still percent-encoded (utils/routes.js encodes them)
function decode(value) {
  try {
    return decodeURIComponent(value)
  } catch (e) {
    return value
  }
}

Component({
  data: {
    keyword: '',
    levels: LEVELS,
    levelIndex: 0,
    region: '', // administrative code: province / city / district
    regionNames: [], // what the region picker shows
    regionLabel: '全部地区',
    items: [],
    page: 1,
    total: 0,
    hasMore: false,
    state: 'loading',
    errorText: '',
  },
  methods: {
    onLoad(query) {
      const keyword = (query && query.keyword) ? decode(query.keyword) : ''
      if (keyword) this.setData({ keyword })
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    onReachBottom() {
      if (this.data.hasMore && !this.loadingMore) return this.load(this.data.page + 1)
      return null
    },
    filters() {
      const { keyword, levels, levelIndex, region } = this.data
      return { keyword: keyword.trim(), level: levels[levelIndex].key, region }
    },
    async load(page = 1) {
      const filters = this.filters()
      const key = JSON.stringify(filters)
      this.filterKey = key
      if (page === 1) this.setData({ state: 'loading' })
      this.loadingMore = page > 1
      try {
        const result = await hospitals.list({ ...filters, page, page_size: PAGE_SIZE }, { toast: page > 1 })
        if (key !== this.filterKey) return // the filters changed meanwhile
        const items = page === 1 ? result.items : this.data.items.concat(result.items)
        this.setData({
          items, page, total: result.total, hasMore: items.length < result.total,
          state: items.length ? '' : 'empty',
          errorText: items.length ? '' : '没有符合条件的医院',
        })
      } catch (err) {
        if (page === 1 && key === this.filterKey) this.setData({ state: 'error', errorText: err.message })
      } finally {
        this.loadingMore = false
      }
    },
    onKeyword(e) {
      this.setData({ keyword: e.detail.value })
    },
    onSearch() {
      return this.load()
    },
    onClearKeyword() {
      this.setData({ keyword: '' })
      return this.load()
    },
    onLevel(e) {
      this.setData({ levelIndex: Number(e.detail.value) || 0 })
      return this.load()
    },
    // <picker mode="region">: detail.code = [province, city, district] codes, detail.value = names
    onRegion(e) {
      // with custom-item「全部」 a level left at 全部 means the whole of the level above
      const codes = (e.detail.code || []).filter(Boolean)
      const names = (e.detail.value || []).filter((n) => n && n !== '全部')
      const depth = Math.min(codes.length, names.length)
      this.setData({
        region: depth ? codes[depth - 1] : '',
        regionNames: e.detail.value || [],
        regionLabel: names.length ? names[names.length - 1] : '全部地区',
      })
      return this.load()
    },
    onClearRegion() {
      this.setData({ region: '', regionNames: [], regionLabel: '全部地区' })
      return this.load()
    },
    onOpen(e) {
      go('hospital', { id: e.currentTarget.dataset.id })
    },
  },
})
