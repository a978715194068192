// The caregiver's profile form (used by apply and profile): name, gender, birth date, service
// city / districts / hospitals, skills from the maintained list, years of experience, bio, work
// history and photo. Checks what the server checks (common.profileErrors) and only then
// emits save {body, form}; the page sends it and passes the server's field errors back.
//   <profile-form initial="{{form}}" skills="{{skills}}" cities="{{cities}}" errors="{{errors}}"
//                 submit-text="保存" busy="{{saving}}" bind:save="onSave" />
const { GENDERS, profileErrors, profileBody, pickAndUpload } = require('../common')
const { day } = require('../../../utils/format')

const EMPTY = {
  name: '', gender: '', birth_date: '', city_code: '', district_codes: [], hospital_ids: [],
  skills: [], years_experience: '0', bio: '', work_history: [], photo_file_id: null,
}

Component({
  properties: {
    initial: { type: Object, value: null },
    skills: { type: Array, value: [] }, // [{code, name}]
    cities: { type: Array, value: [] }, // common.serviceArea()
    errors: { type: Object, value: {} }, // the server's {field: message}
    submitText: { type: String, value: '保存' },
    busy: { type: Boolean, value: false },
    complete: { type: Boolean, value: false }, // also check what submitting needs
    note: { type: String, value: '' },
  },
  data: {
    form: EMPTY, genders: GENDERS, shown: {}, cityIndex: -1, city: null, cityNames: [],
    skillOptions: [], photoPath: '', today: '',
  },
  // a parent's re-render may hand the same values again: only a real change resets the form
  // (or replaces the errors shown)
  observers: {
    initial(initial) {
      const seen = JSON.stringify(initial || null)
      if (seen === this.seenInitial) return
      this.seenInitial = seen
      this.setData({ form: { ...EMPTY, ...(initial || {}) }, shown: {} })
      this.refresh()
    },
    'skills, cities': function lists() {
      this.refresh()
    },
    errors(errors) {
      const seen = JSON.stringify(errors || {})
      if (seen === this.seenErrors) return
      this.seenErrors = seen
      this.setData({ shown: { ...(errors || {}) } })
    },
  },
  lifetimes: {
    attached() {
      this.setData({ today: day() })
    },
  },
  methods: {
    // derived view state: the chosen city, chips marked as chosen
    refresh() {
      const { form, cities, skills } = this.data
      const cityIndex = cities.findIndex((c) => c.code === form.city_code)
      const city = cityIndex >= 0 ? cities[cityIndex] : null
      const mark = (items, chosen, key) => items.map((i) => ({ ...i, chosen: chosen.includes(i[key]) }))
      this.setData({
        cityIndex,
        cityNames: cities.map((c) => c.name),
        city: city && {
          ...city,
          districts: mark(city.districts, form.district_codes, 'code'),
          hospitals: mark(city.hospitals, form.hospital_ids, 'id'),
        },
        skillOptions: mark(skills, form.skills, 'code'),
      })
    },
    set(field, value) {
      this.setData({ [`form.${field}`]: value, [`shown.${field}`]: '' })
    },
    onInput(e) {
      this.set(e.currentTarget.dataset.field, e.detail.value)
    },
    onGender(e) {
      this.set('gender', e.currentTarget.dataset.value)
    },
    onBirth(e) {
      this.set('birth_date', e.detail.value)
    },
    onCity(e) {
      const city = this.data.cities[Number(e.detail.value)]
      if (!city || city.code === this.data.form.city_code) return
      // districts and hospitals belong to a city: choosing another clears them
      this.setData({
        'form.city_code': city.code, 'form.district_codes': [], 'form.hospital_ids': [], 'shown.city_code': '',
      })
      this.refresh()
    },
    toggle(field, value) {
      const list = this.data.form[field]
      this.set(field, list.includes(value) ? list.filter((v) => v !== value) : list.concat(value))
      this.refresh()
    },
    onDistrict(e) {
      this.toggle('district_codes', e.currentTarget.dataset.code)
    },
    onHospital(e) {
      this.toggle('hospital_ids', Number(e.currentTarget.dataset.id))
    },
    onSkill(e) {
      this.toggle('skills', e.currentTarget.dataset.code)
    },
    onAddHistory() {
      this.set('work_history', this.data.form.work_history.concat({ start: '', end: '', employer: '', role: '' }))
    },
    onRemoveHistory(e) {
      const index = Number(e.currentTarget.dataset.index)
      this.set('work_history', this.data.form.work_history.filter((h, i) => i !== index))
    },
    onHistory(e) {
      const { index, field } = e.currentTarget.dataset
      this.setData({ [`form.work_history[${index}].${field}`]: e.detail.value, [`shown.work_history.${index}`]: '' })
    },
    async onPhoto() {
      const [photo] = await pickAndUpload(1, 'attachment')
      if (photo) {
        this.set('photo_file_id', photo.id)
        this.setData({ photoPath: photo.path })
      }
    },
    onSave() {
      if (this.data.busy) return
      const { form, complete } = this.data
      const errors = profileErrors(form, { complete })
      if (Object.keys(errors).length) {
        this.setData({ shown: errors })
        wx.showToast({ title: errors[Object.keys(errors)[0]], icon: 'none' })
        return
      }
      this.triggerEvent('save', { body: profileBody(form), form })
    },
  },
})
