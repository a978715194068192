// One caregiver in search results (GET /api/v1/caregivers item):
//   <caregiver-card caregiver="{{item}}" care-type="full_day" bind:open="onOpen" bind:book="onBook" />
// Events: open {id} (tap on the card); book {id} (the 预约 button; does not open).
const { yuan } = require('../../utils/format')
const { apiBase } = require('../../config/index')

const GENDERS = { male: '男', female: '女' }

Component({
  properties: {
    caregiver: { type: Object, value: null },
    careType: { type: String, value: '' }, // the searched care type: its price is shown
    showBook: { type: Boolean, value: true },
  },
  data: { view: null },
  observers: {
    'caregiver, careType': function update(c, careType) {
      if (!c) return this.setData({ view: null })
      const prices = c.prices || []
      const price = prices.find((p) => p.care_type === careType) || prices[0] || null
      const facts = [GENDERS[c.gender], c.age ? `${c.age}岁` : '', `从业${c.years_experience || 0}年`]
      return this.setData({
        view: {
          photo: c.photo_url ? (/^https?:/.test(c.photo_url) ? c.photo_url : apiBase() + c.photo_url) : '',
          initial: (c.display_name || '护').slice(0, 1),
          facts: facts.filter(Boolean).join(' · '),
          rating: c.rating_avg ? Number(c.rating_avg).toFixed(1) : '',
          skills: (c.skills || []).slice(0, 4).map((s) => s.name),
          badges: (c.badges || []).map((b) => b.kind_name),
          price: price ? yuan(c.price_fen != null && careType ? c.price_fen : price.price_fen) : '',
          unit: price ? price.unit_name : '',
          distance: c.distance_km != null ? `${c.distance_km}km` : '',
        },
      })
    },
  },
  methods: {
    onOpen() {
      if (this.data.caregiver) this.triggerEvent('open', { id: this.data.caregiver.id })
    },
    onBook() {
      this.triggerEvent('book', { id: this.data.caregiver.id })
    },
  },
})
