// 选择医院: keyword, level and region filters (the region picker's most specific code), 20 a
// page with more on reaching the bottom. A tap opens the hospital.
const hospitals = require('../../../services/hospitals')
const pagedList = require('../../../behaviors/paged-list')
const { go, decodeQueryValue } = require('../../../utils/routes')

// the API's level enum with the backend's names (app/hospitals/models.py HOSPITAL_LEVELS)
const LEVELS = [
  { key: '', label: '全部等级' },
  { key: '3A', label: '三级甲等' }, { key: '3B', label: '三级乙等' }, { key: '3C', label: '三级丙等' },
  { key: '2A', label: '二级甲等' }, { key: '2B', label: '二级乙等' }, { key: '2C', label: '二级丙等' },
  { key: '1', label: '一级' },
]

Component({
  behaviors: [pagedList],
  data: {
    keyword: '',
    levels: LEVELS,
    levelIndex: 0,
    region: '', // administrative code: province / city / district
    regionNames: [], // what the region picker shows
    regionLabel: '全部地区',
    total: 0,
  },
  methods: {
    onLoad(query) {
      const keyword = (query && query.keyword) ? decodeQueryValue(query.keyword) : ''
      if (keyword) this.setData({ keyword })
      return this.load()
    },
    filters() {
      const { keyword, levels, levelIndex, region } = this.data
      return { keyword: keyword.trim(), level: levels[levelIndex].key, region }
    },
    listKey() {
      return JSON.stringify(this.filters())
    },
    fetchPage(paging, options) {
      return hospitals.list({ ...this.filters(), ...paging }, options)
    },
    pageData(result, items) {
      return { total: result.total, errorText: items.length ? '' : '没有符合条件的医院' }
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
