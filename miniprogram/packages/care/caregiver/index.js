// 护工详情: GET /api/v1/caregivers/{id} (public): profile, verified badges, skills, prices (tap
// one to choose the care type), rating with its star distribution and tags, the 3 latest
// reviews (全部评价 pages through GET .../reviews), the next free windows (tap one to book from
// it) and a 预约 button to the booking page.
const caregivers = require('../../../services/caregivers')
const { apiBase } = require('../../../config/index')
const { yuan, day } = require('../../../utils/format')
const { go } = require('../../../utils/routes')
const { windowText, stars } = require('../common')

const GENDERS = { male: '男', female: '女' }
const REVIEW_PAGE_SIZE = 10

function reviewView(r) {
  return {
    id: r.id,
    reviewer: r.reviewer,
    stars: stars(r.stars),
    careType: r.care_type_name,
    date: day(r.created_at),
    tags: (r.tags || []).map((t) => t.name),
    text: r.text || '',
    reply: r.reply || '',
  }
}

function distributionView(rating) {
  const dist = (rating && rating.distribution) || {}
  const count = Object.keys(dist).reduce((sum, k) => sum + (dist[k] || 0), 0)
  return [5, 4, 3, 2, 1].map((n) => ({
    star: n,
    count: dist[n] || 0,
    percent: count ? Math.round(((dist[n] || 0) * 100) / count) : 0,
  }))
}

function profileView(c) {
  const photo = c.photo_url ? (/^https?:/.test(c.photo_url) ? c.photo_url : apiBase() + c.photo_url) : ''
  const facts = [GENDERS[c.gender], c.age ? `${c.age}岁` : '', `从业${c.years_experience || 0}年`,
    `服务${c.completed_orders || 0}单`]
  const rating = c.rating || { avg: c.rating_avg, count: c.rating_count }
  return {
    photo,
    initial: (c.display_name || '护').slice(0, 1),
    name: c.display_name || '护工',
    facts: facts.filter(Boolean).join(' · '),
    ratingAvg: rating.avg ? Number(rating.avg).toFixed(1) : '',
    ratingCount: rating.count || 0,
    badges: (c.badges || []).map((b) => b.kind_name),
    skills: (c.skills || []).map((s) => s.name),
    services: [c.accepts_urgent ? '接急单' : '', c.night_service ? '可夜间服务' : ''].filter(Boolean),
    bio: c.bio || '',
    hospitals: (c.hospitals || []).map((h) => h.name).join('、'),
    history: (c.work_history || []).map((w) => ({
      period: [w.start, w.end || '至今'].filter(Boolean).join(' 至 '),
      text: [w.employer, w.role].filter(Boolean).join(' · '),
    })),
    prices: (c.prices || []).map((p) => ({ careType: p.care_type, name: p.name, price: yuan(p.price_fen), unit: p.unit_name })),
    windows: (c.next_free_windows || []).map((w) => ({ start: w.start, text: windowText(w.start, w.end) })),
    distribution: distributionView(c.rating),
    tags: (c.review_tags || []).map((t) => `${t.name} ${t.count}`),
    reviews: (c.recent_reviews || []).map(reviewView),
  }
}

Component({
  data: {
    id: null,
    careType: '',
    view: null,
    state: 'loading',
    errorText: '',
    allReviews: false, // showing every review (paged) instead of the latest 3
    reviews: [],
    reviewPage: 0,
    reviewsMore: false,
    reviewsLoading: false,
  },
  methods: {
    onLoad(query = {}) {
      this.setData({ id: Number(query.id) || null, careType: query.care_type || '' })
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    onReachBottom() {
      if (this.data.allReviews && this.data.reviewsMore) return this.loadReviews(this.data.reviewPage + 1)
      return null
    },
    async load() {
      if (!this.data.id) {
        this.setData({ state: 'error', errorText: '护工不存在' })
        return
      }
      this.setData({ state: 'loading' })
      try {
        const c = await caregivers.detail(this.data.id, { toast: false })
        const view = profileView(c)
        const offered = view.prices.map((p) => p.careType)
        const careType = offered.includes(this.data.careType) ? this.data.careType : (offered[0] || '')
        this.setData({ view, careType, reviews: view.reviews, state: '' })
        wx.setNavigationBarTitle({ title: view.name })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    async loadReviews(page = 1) {
      if (this.data.reviewsLoading) return
      this.setData({ reviewsLoading: true })
      try {
        const result = await caregivers.reviews(this.data.id, { page, page_size: REVIEW_PAGE_SIZE })
        const items = result.items.map(reviewView)
        const reviews = page === 1 ? items : this.data.reviews.concat(items)
        this.setData({
          allReviews: true, reviews, reviewPage: page, reviewsMore: reviews.length < result.total,
        })
      } catch (err) {
        // toasted by the wrapper; the reviews shown stay
      } finally {
        this.setData({ reviewsLoading: false })
      }
    },
    onAllReviews() {
      return this.loadReviews(1)
    },
    onPrice(e) {
      this.setData({ careType: e.currentTarget.dataset.key })
    },
    onWindow(e) {
      go('careBook', { caregiver_id: this.data.id, care_type: this.data.careType, start: e.currentTarget.dataset.start })
    },
    onBook() {
      go('careBook', { caregiver_id: this.data.id, care_type: this.data.careType })
    },
  },
})
