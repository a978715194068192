// 找护工: GET /api/v1/caregivers with every filter and sort the API offers, 20 a page (more on
// reaching the bottom). The care type is a tab; the sort a bar (距离 asks wx.getLocation unless
// a hospital is chosen); the rest sits in the 筛选 panel (region, hospital, skills, gender, age,
// experience, price, free-time window, rating, urgent / night) and applies on 确定, checked as
// the server checks it.
const caregivers = require('../../../services/caregivers')
const hospitals = require('../../../services/hospitals')
const pagedList = require('../../../behaviors/paged-list')
const { go } = require('../../../utils/routes')
const { isoAt, HALF_HOURS, firstDetail } = require('../common')

const SORTS = [
  { key: 'rating', label: '评分' },
  { key: 'price_asc', label: '价格↑' },
  { key: 'price_desc', label: '价格↓' },
  { key: 'experience', label: '经验' },
  { key: 'orders', label: '单量' },
  { key: 'distance', label: '距离' },
]
const PRICE_SORTS = ['price_asc', 'price_desc']
const GENDERS = [{ key: '', label: '不限' }, { key: 'female', label: '女' }, { key: 'male', label: '男' }]
const RATINGS = [{ key: '', label: '不限' }, { key: '4.5', label: '4.5分以上' }, { key: '4', label: '4分以上' }, { key: '3', label: '3分以上' }]

const EMPTY_FILTERS = {
  skills: [], skills_match: 'any', gender: '', min_age: '', max_age: '', min_experience: '',
  min_price: '', max_price: '', city_code: '', district_code: '', region_text: '',
  hospital_id: '', hospital_name: '', start_date: '', start_time: '', end_date: '', end_time: '',
  min_rating: '', accepts_urgent: false, night_service: false,
}

const isBlank = (v) => v === '' || v === null || v === undefined
const toInt = (v) => (isBlank(v) ? null : Number(v))
const isInt = (v) => /^\d+$/.test(String(v).trim())
const isMoney = (v) => /^\d+(\.\d{1,2})?$/.test(String(v).trim())

// The checks GET /api/v1/caregivers makes, with its Chinese messages; '' when fine.
function filterError(f, careType, sort) {
  for (const key of ['min_age', 'max_age']) {
    if (!isBlank(f[key]) && (!isInt(f[key]) || f[key] < 18 || f[key] > 80)) return '年龄需为 18–80 之间的整数'
  }
  if (!isBlank(f.min_age) && !isBlank(f.max_age) && Number(f.min_age) > Number(f.max_age)) return '最小年龄不能大于最大年龄'
  if (!isBlank(f.min_experience) && (!isInt(f.min_experience) || f.min_experience > 50)) return '从业年限需为 0–50 之间的整数'
  for (const key of ['min_price', 'max_price']) {
    if (!isBlank(f[key]) && !isMoney(f[key])) return '价格请填写金额(元),最多两位小数'
  }
  if ((!isBlank(f.min_price) || !isBlank(f.max_price) || PRICE_SORTS.includes(sort)) && !careType) {
    return '按价格筛选或排序时需指定服务类型'
  }
  if (!isBlank(f.min_price) && !isBlank(f.max_price) && Number(f.min_price) > Number(f.max_price)) return '最低价格不能高于最高价格'
  const hasStart = !!(f.start_date && f.start_time)
  const hasEnd = !!(f.end_date && f.end_time)
  if (hasStart !== hasEnd) return '开始时间和结束时间需同时提供'
  if (hasStart && isoAt(f.end_date, f.end_time) <= isoAt(f.start_date, f.start_time)) return '结束时间应晚于开始时间'
  return ''
}

// the GET /api/v1/caregivers query for these filters (blank ones are left out); paging =
// {page, page_size}
function buildQuery(f, careType, sort, location, paging) {
  const q = { ...paging, sort }
  if (careType) q.care_type = careType
  if (f.skills.length) {
    q.skills = f.skills.slice()
    if (f.skills.length > 1 && f.skills_match === 'all') q.skills_match = 'all'
  }
  if (f.gender) q.gender = f.gender
  if (!isBlank(f.min_age)) q.min_age = toInt(f.min_age)
  if (!isBlank(f.max_age)) q.max_age = toInt(f.max_age)
  if (!isBlank(f.min_experience)) q.min_experience = toInt(f.min_experience)
  if (!isBlank(f.min_price)) q.min_price_fen = Math.round(Number(f.min_price) * 100)
  if (!isBlank(f.max_price)) q.max_price_fen = Math.round(Number(f.max_price) * 100)
  if (f.city_code) q.city_code = f.city_code
  if (f.district_code) q.district_code = f.district_code
  if (f.hospital_id) q.hospital_id = Number(f.hospital_id)
  if (f.start_date && f.start_time && f.end_date && f.end_time) {
    q.start = isoAt(f.start_date, f.start_time)
    q.end = isoAt(f.end_date, f.end_time)
  }
  if (f.min_rating) q.min_rating = Number(f.min_rating)
  if (f.accepts_urgent) q.accepts_urgent = true
  if (f.night_service) q.night_service = true
  if (sort === 'distance' && !f.hospital_id && location) {
    q.lat = location.latitude
    q.lng = location.longitude
  }
  return q
}

function countActive(f) {
  let n = 0
  if (f.skills.length) n += 1
  if (f.gender) n += 1
  if (!isBlank(f.min_age) || !isBlank(f.max_age)) n += 1
  if (!isBlank(f.min_experience)) n += 1
  if (!isBlank(f.min_price) || !isBlank(f.max_price)) n += 1
  if (f.city_code) n += 1
  if (f.hospital_id) n += 1
  if (f.start_date) n += 1
  if (f.min_rating) n += 1
  if (f.accepts_urgent) n += 1
  if (f.night_service) n += 1
  return n
}

function getLocation() {
  return new Promise((resolve, reject) => {
    wx.getLocation({ type: 'gcj02', success: resolve, fail: reject })
  })
}

Component({
  behaviors: [pagedList],
  data: {
    careTypes: [], // [{care_type, name, unit_name}]
    careType: '',
    sorts: SORTS,
    sort: 'rating',
    genders: GENDERS,
    ratings: RATINGS,
    halfHours: HALF_HOURS,
    skillOptions: [], // [{code, name, selected}]
    hospitalOptions: [], // [{id, name}]
    filters: { ...EMPTY_FILTERS },
    draft: { ...EMPTY_FILTERS },
    activeCount: 0,
    panelOpen: false,
    panelError: '',
    total: 0,
  },
  methods: {
    onLoad(query = {}) {
      const filters = { ...EMPTY_FILTERS }
      if (query.hospital_id) filters.hospital_id = String(query.hospital_id)
      if (query.hospital_name) filters.hospital_name = query.hospital_name
      this.setData({ careType: query.care_type || '', filters, draft: { ...filters }, activeCount: countActive(filters) })
      this.loadOptions()
      return this.load()
    },
    // the tabs and the panel's choices; a failure only leaves them short
    async loadOptions() {
      try {
        const [types, skills] = await Promise.all([
          caregivers.careTypes({ toast: false }), caregivers.skills({ toast: false })])
        this.setData({
          careTypes: types,
          skillOptions: skills.map((s) => ({ ...s, selected: this.data.draft.skills.includes(s.code) })),
        })
      } catch (err) { /* the list still works without them */ }
      return this.loadHospitals(this.data.draft.city_code)
    },
    async loadHospitals(region) {
      try {
        const page = await hospitals.list({ region: region || undefined, page: 1, page_size: 50 }, { toast: false })
        this.setData({ hospitalOptions: page.items.map((h) => ({ id: h.id, name: h.name })) })
      } catch (err) {
        this.setData({ hospitalOptions: [] })
      }
    },
    searchQuery(paging) {
      const { filters, careType, sort } = this.data
      return buildQuery(filters, careType, sort, this.location, paging)
    },
    listKey() {
      return JSON.stringify(this.searchQuery({}))
    },
    fetchPage(paging, options) {
      return caregivers.search(this.searchQuery(paging), options)
    },
    pageData(result) {
      return { total: result.total }
    },
    pageError(err) {
      return firstDetail(err) || err.message
    },

    // ---- care type tabs and the sort bar ----
    onCareType(e) {
      const key = e.currentTarget.dataset.key
      if (key === this.data.careType) return null
      const patch = { careType: key }
      // price filters and sorts need a care type: drop them with it
      if (!key) {
        if (PRICE_SORTS.includes(this.data.sort)) patch.sort = 'rating'
        patch.filters = { ...this.data.filters, min_price: '', max_price: '' }
        patch.draft = { ...this.data.draft, min_price: '', max_price: '' }
        patch.activeCount = countActive(patch.filters)
      }
      this.setData(patch)
      return this.load()
    },
    async onSort(e) {
      const key = e.currentTarget.dataset.key
      if (key === this.data.sort) return
      if (PRICE_SORTS.includes(key) && !this.data.careType) {
        wx.showToast({ title: '按价格排序请先选择服务类型', icon: 'none' })
        return
      }
      if (key === 'distance' && !this.data.filters.hospital_id) {
        try {
          const loc = await getLocation()
          this.location = { latitude: loc.latitude, longitude: loc.longitude }
        } catch (err) {
          wx.showToast({ title: '未获得位置授权,无法按距离排序', icon: 'none' })
          return
        }
      }
      this.setData({ sort: key })
      await this.load()
    },

    // ---- the filter panel (edits a draft; 确定 applies it) ----
    openPanel() {
      const draft = { ...this.data.filters, skills: this.data.filters.skills.slice() }
      this.setData({ panelOpen: true, panelError: '', draft, skillOptions: this.markSkills(draft.skills) })
    },
    closePanel() {
      this.setData({ panelOpen: false, panelError: '' })
    },
    markSkills(selected) {
      return this.data.skillOptions.map((s) => ({ ...s, selected: selected.includes(s.code) }))
    },
    onDraftInput(e) {
      this.setData({ [`draft.${e.currentTarget.dataset.field}`]: e.detail.value.trim() })
    },
    onDraftChoice(e) {
      const { field, value } = e.currentTarget.dataset
      this.setData({ [`draft.${field}`]: value })
    },
    onDraftSwitch(e) {
      this.setData({ [`draft.${e.currentTarget.dataset.field}`]: !!e.detail.value })
    },
    onSkill(e) {
      const { code } = e.currentTarget.dataset
      const skills = this.data.draft.skills.slice()
      const at = skills.indexOf(code)
      if (at >= 0) skills.splice(at, 1)
      else if (skills.length >= 10) {
        wx.showToast({ title: '最多选择 10 项技能', icon: 'none' })
        return
      } else skills.push(code)
      this.setData({ 'draft.skills': skills, skillOptions: this.markSkills(skills) })
    },
    onSkillsMatch(e) {
      this.setData({ 'draft.skills_match': e.detail.value ? 'all' : 'any' })
    },
    // <picker mode="region">: detail.code = [province, city, district] division codes
    onRegion(e) {
      const codes = (e.detail.code || []).map((c) => (/^[1-9]\d{5}$/.test(c) ? c : ''))
      const names = (e.detail.value || []).filter((n) => n && n !== '全部')
      const city = codes[1] || ''
      this.setData({
        'draft.city_code': city,
        'draft.district_code': city ? codes[2] || '' : '',
        'draft.region_text': city ? names.slice(1).join(' ') : '',
        'draft.hospital_id': '',
        'draft.hospital_name': '',
      })
      this.loadHospitals(codes[2] || city)
    },
    clearRegion() {
      this.setData({ 'draft.city_code': '', 'draft.district_code': '', 'draft.region_text': '' })
      this.loadHospitals('')
    },
    onHospital(e) {
      const h = this.data.hospitalOptions[Number(e.detail.value)]
      if (h) this.setData({ 'draft.hospital_id': String(h.id), 'draft.hospital_name': h.name })
    },
    clearHospital() {
      this.setData({ 'draft.hospital_id': '', 'draft.hospital_name': '' })
    },
    onDate(e) {
      this.setData({ [`draft.${e.currentTarget.dataset.field}`]: e.detail.value })
    },
    onTime(e) {
      this.setData({ [`draft.${e.currentTarget.dataset.field}`]: HALF_HOURS[Number(e.detail.value)] })
    },
    clearWindow() {
      this.setData({ 'draft.start_date': '', 'draft.start_time': '', 'draft.end_date': '', 'draft.end_time': '' })
    },
    resetDraft() {
      const draft = { ...EMPTY_FILTERS, skills: [] }
      this.setData({ draft, panelError: '', skillOptions: this.markSkills([]) })
      this.loadHospitals('')
    },
    applyFilters() {
      const draft = { ...this.data.draft, skills: this.data.draft.skills.slice() }
      const error = filterError(draft, this.data.careType, this.data.sort)
      if (error) {
        this.setData({ panelError: error })
        return null
      }
      const patch = { filters: draft, activeCount: countActive(draft), panelOpen: false, panelError: '' }
      this.setData(patch)
      return this.load()
    },

    // ---- results ----
    onOpen(e) {
      go('caregiver', { id: e.detail.id, care_type: this.data.careType })
    },
    onBook(e) {
      go('careBook', { caregiver_id: e.detail.id, care_type: this.data.careType })
    },
  },
})
