// 预约陪护: choose the patient, the care type (the chosen caregiver's, or any for platform
// dispatch), the start (date + half-hour) and how many units (days / shifts / hours; an escort
// by its hours), the place (a hospital with department and bed, or an address in a city) and
// the needs. Every change asks POST /care-orders/quote and shows the price breakdown; 提交订单
// asks for subscribe messages, books (POST /care-orders) and pays (payments.payWith), then
// opens the order. Errors: the server's field errors under the fields, caregiver_busy offers
// another caregiver, other codes their message.
const careOrders = require('../../../services/care_orders')
const caregivers = require('../../../services/caregivers')
const hospitals = require('../../../services/hospitals')
const patients = require('../../../services/patients')
const payments = require('../../../services/payments')
const subscriptions = require('../../../services/subscriptions')
const { yuan, day } = require('../../../utils/format')
const { fieldErrors } = require('../../../utils/form')
const { go, url } = require('../../../utils/routes')
const {
  isoAt, addHours, splitIso, HALF_HOURS, UNIT_HOURS, ESCORT_MAX_HOURS, MAX_UNITS, firstDetail,
} = require('../common')

// the events the family hears about after booking (TMPL_CARE_ORDER_STATUS)
const SUBSCRIBE_EVENTS = ['care_order_paid', 'care_order_accepted', 'care_order_cancelled']
// fields whose server errors are shown beside them; anything else goes to the banner
const FIELDS = ['patient_id', 'care_type', 'start', 'end', 'hospital_id', 'department', 'bed',
  'address', 'city_code', 'needs', 'skills', 'caregiver_id', 'latitude']

function tomorrow() {
  return day(new Date(Date.now() + 24 * 3600 * 1000))
}

Component({
  data: {
    caregiverId: null,
    caregiver: null, // {name, photo} when booking a chosen caregiver
    state: 'loading',
    errorText: '',
    patients: [], // [{id, name, label}]
    patientIndex: -1,
    careTypes: [], // [{care_type, name, unit_name, price}]
    careType: '',
    unitName: '',
    halfHours: HALF_HOURS,
    today: '',
    date: '',
    time: '08:00',
    units: 1,
    maxUnits: 30,
    isEscort: false,
    endText: '',
    placeKind: 'hospital',
    hospitalOptions: [],
    hospitalId: null,
    hospitalName: '',
    department: '',
    bed: '',
    address: '',
    cityCode: '',
    regionText: '',
    needs: '',
    skillOptions: [],
    quote: null,
    totalText: '',
    urgentText: '',
    quoteState: '', // '' | 'loading' | 'error'
    quoteError: '',
    errors: {}, // field → message (the server's err.details, or ours)
    formError: '',
    submitting: false,
  },
  methods: {
    onLoad(query = {}) {
      subscriptions.prefetch() // the prompt must open inside the tap, with no wait
      const start = splitIso(query.start)
      this.setData({
        caregiverId: Number(query.caregiver_id) || null,
        careType: query.care_type || '',
        today: day(),
        date: start ? start.date : tomorrow(),
        time: start ? start.time : '08:00',
        hospitalId: Number(query.hospital_id) || null,
      })
      return this.load()
    },
    // back from adding a patient: pick them up
    onShow() {
      if (this.loaded && !this.data.patients.length) return this.loadPatients()
      return null
    },
    async load() {
      this.setData({ state: 'loading' })
      const { caregiverId } = this.data
      try {
        const [types, cg] = await Promise.all([
          caregivers.careTypes({ toast: false }),
          caregiverId ? caregivers.detail(caregiverId, { toast: false }) : null,
          this.loadPatients(true),
        ])
        let options
        if (cg) {
          const units = {}
          types.forEach((t) => { units[t.care_type] = t.unit_name })
          options = cg.prices.map((p) => ({ care_type: p.care_type, name: p.name, unit_name: p.unit_name || units[p.care_type], price: `¥${yuan(p.price_fen)}/${p.unit_name}` }))
        } else {
          options = types.map((t) => ({ care_type: t.care_type, name: t.name, unit_name: t.unit_name, price: `¥${yuan(t.min_price_fen)}起/${t.unit_name}` }))
        }
        const chosen = options.find((o) => o.care_type === this.data.careType) || options[0]
        this.setData({
          caregiver: cg ? { name: cg.display_name || '护工', hospitals: cg.hospitals || [] } : null,
          careTypes: options,
          state: '',
        })
        this.loaded = true
        this.setCareType(chosen ? chosen.care_type : '', false)
        this.loadChoices(cg)
        return this.requestQuote()
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
        return null
      }
    },
    // patients (sign-in needed); `strict` lets the first load fail as a whole
    async loadPatients(strict = false) {
      try {
        const page = await patients.list({ page: 1, page_size: 100 }, { toast: false })
        const list = page.items.map((p) => ({
          id: p.id, name: p.name, label: [p.name, p.gender === 'male' ? '男' : p.gender === 'female' ? '女' : '', p.age ? `${p.age}岁` : ''].filter(Boolean).join(' '),
        }))
        const keep = this.data.patientIndex >= 0 && this.data.patientIndex < list.length
        this.setData({ patients: list, patientIndex: keep ? this.data.patientIndex : (list.length ? 0 : -1) })
        if (!strict) this.requestQuote()
      } catch (err) {
        if (strict) throw err
      }
    },
    // hospitals and skills to choose from; the form works without them
    async loadChoices(cg) {
      try {
        const [page, skills] = await Promise.all([
          hospitals.list({ page: 1, page_size: 50 }, { toast: false }),
          caregivers.skills({ toast: false }),
        ])
        // the caregiver's own hospitals first
        const own = (cg && cg.hospitals) || []
        const ownIds = own.map((h) => h.id)
        const options = own.map((h) => ({ id: h.id, name: `${h.name}(常驻)`, plain: h.name }))
          .concat(page.items.filter((h) => !ownIds.includes(h.id)).map((h) => ({ id: h.id, name: h.name, plain: h.name })))
        const chosen = options.find((h) => h.id === this.data.hospitalId)
        this.setData({
          hospitalOptions: options,
          hospitalName: chosen ? chosen.plain : this.data.hospitalName,
          skillOptions: skills.map((s) => ({ ...s, selected: false })),
        })
      } catch (err) { /* an address still works */ }
    },

    // ---- the form ----
    setCareType(careType, quote = true) {
      const option = this.data.careTypes.find((o) => o.care_type === careType)
      const isEscort = careType === 'escort'
      const units = isEscort ? 4 : 1
      this.setData({
        careType,
        unitName: option ? option.unit_name : '',
        isEscort,
        units,
        maxUnits: isEscort ? ESCORT_MAX_HOURS : (MAX_UNITS[careType] || 30),
      })
      this.updateEnd()
      if (quote) this.requestQuote()
    },
    onCareType(e) {
      const key = e.currentTarget.dataset.key
      if (key !== this.data.careType) this.setCareType(key)
    },
    onPatient(e) {
      this.setData({ patientIndex: Number(e.detail.value) })
      this.requestQuote()
    },
    addPatient() {
      go('patientEdit')
    },
    onDate(e) {
      this.setData({ date: e.detail.value })
      this.updateEnd()
      this.requestQuote()
    },
    onTime(e) {
      this.setData({ time: HALF_HOURS[Number(e.detail.value)] })
      this.updateEnd()
      this.requestQuote()
    },
    onUnits(e) {
      const step = Number(e.currentTarget.dataset.step)
      const units = Math.min(this.data.maxUnits, Math.max(1, this.data.units + step))
      if (units === this.data.units) return
      this.setData({ units })
      this.updateEnd()
      this.requestQuote()
    },
    onPlaceKind(e) {
      const kind = e.currentTarget.dataset.kind
      if (kind === this.data.placeKind) return
      this.setData({ placeKind: kind })
      this.requestQuote()
    },
    onHospital(e) {
      const h = this.data.hospitalOptions[Number(e.detail.value)]
      if (!h) return
      this.setData({ hospitalId: h.id, hospitalName: h.plain, 'errors.hospital_id': '' })
      this.requestQuote()
    },
    onRegion(e) {
      const codes = e.detail.code || []
      const city = /^\d{6}$/.test(codes[1] || '') ? codes[1] : ''
      this.setData({ cityCode: city, regionText: (e.detail.value || []).join(' '), 'errors.city_code': '' })
      this.requestQuote()
    },
    onInput(e) {
      const { field } = e.currentTarget.dataset
      this.setData({ [field]: e.detail.value, [`errors.${field}`]: '' })
    },
    // the address changes the price's place: quote when the user leaves the field
    onAddressBlur() {
      this.requestQuote()
    },
    onSkill(e) {
      const { index } = e.currentTarget.dataset
      this.setData({ [`skillOptions[${index}].selected`]: !this.data.skillOptions[index].selected })
    },
    updateEnd() {
      const { date, time } = this.data
      if (!date || !time || !this.data.careType) return this.setData({ endText: '' })
      const end = splitIso(addHours(isoAt(date, time), this.hours()))
      return this.setData({ endText: end ? `${end.date} ${end.time}` : '' })
    },
    hours() {
      const { careType, units } = this.data
      return careType === 'escort' ? units : units * (UNIT_HOURS[careType] || 24)
    },

    // the body of quote and book alike (CareOrderRequest); blanks left out
    body() {
      const d = this.data
      const patient = d.patients[d.patientIndex]
      const start = isoAt(d.date, d.time)
      const body = {
        care_type: d.careType,
        start,
        end: addHours(start, this.hours()),
        patient_id: patient ? patient.id : 0,
      }
      if (d.caregiverId) body.caregiver_id = d.caregiverId
      if (d.placeKind === 'hospital') {
        if (d.hospitalId) body.hospital_id = d.hospitalId
        if (d.department.trim()) body.department = d.department.trim()
        if (d.bed.trim()) body.bed = d.bed.trim()
      } else {
        if (d.address.trim()) body.address = d.address.trim()
        if (d.cityCode) body.city_code = d.cityCode
      }
      if (d.needs.trim()) body.needs = d.needs.trim()
      const skills = d.skillOptions.filter((s) => s.selected).map((s) => s.code)
      if (skills.length) body.skills = skills
      return body
    },
    // what the server would refuse, checked first ({field: message}); {} when fine
    check() {
      const d = this.data
      const errors = {}
      if (d.patientIndex < 0) errors.patient_id = '请选择就诊人'
      if (!d.careType) errors.care_type = '请选择服务类型'
      if (!d.date || !d.time) errors.start = '请选择开始时间'
      else if (new Date(isoAt(d.date, d.time)).getTime() <= Date.now()) errors.start = '开始时间已过,请重新选择'
      if (d.placeKind === 'hospital' && !d.hospitalId) errors.hospital_id = '请选择医院,或填写服务地址和城市'
      if (d.placeKind === 'home') {
        if (!d.address.trim()) errors.address = '请填写服务地址'
        if (!d.cityCode) errors.city_code = '请选择服务地址所在城市'
      }
      if (d.needs.length > 1000) errors.needs = '病情与护理需求不超过 1000 字'
      return errors
    },
    async requestQuote() {
      if (!this.loaded) return
      const seq = (this.quoteSeq || 0) + 1
      this.quoteSeq = seq
      if (Object.keys(this.check()).length) {
        this.setData({ quote: null, totalText: '', quoteState: '', quoteError: '' })
        return
      }
      this.setData({ quoteState: 'loading', quoteError: '' })
      try {
        const quote = await careOrders.quote(this.body(), { toast: false })
        if (seq !== this.quoteSeq) return
        this.setData({
          quote,
          totalText: yuan(quote.total_fen),
          quoteState: '',
          urgentText: quote.urgent ? '开始时间较近,按加急订单计价' : '',
        })
      } catch (err) {
        if (seq !== this.quoteSeq) return
        this.setData({ quote: null, totalText: '', quoteState: 'error', quoteError: firstDetail(err) || err.message })
      }
    },

    // ---- book and pay ----
    async onSubmit() {
      if (this.data.submitting) return
      const errors = this.check()
      const keys = Object.keys(errors)
      if (keys.length) {
        this.setData({ errors, formError: errors[keys[0]] })
        wx.showToast({ title: errors[keys[0]], icon: 'none' })
        return
      }
      this.setData({ submitting: true, errors: {}, formError: '' })
      try {
        // WeChat lets a tap ask for subscribe messages: before the payment sheet
        await subscriptions.subscribe(SUBSCRIBE_EVENTS)
        let result
        try {
          result = await careOrders.book(this.body(), { toast: false })
        } catch (err) {
          this.showBookError(err)
          return
        }
        const orderId = result.order.id
        if (result.payment && result.pay_params) {
          try {
            await payments.payWith(result)
            wx.showToast({ title: '支付成功', icon: 'success' })
          } catch (err) {
            // payments has shown why; the order page offers 去支付 until it closes
          }
        }
        wx.redirectTo({ url: url('careOrder', { id: orderId }) })
      } finally {
        this.setData({ submitting: false })
      }
    },
    showBookError(err) {
      const details = fieldErrors(err)
      const errors = {}
      Object.keys(details).forEach((k) => { if (FIELDS.includes(k)) errors[k] = details[k] })
      const message = firstDetail(err) || err.message
      this.setData({ errors, formError: message })
      if (err.code === 'caregiver_busy' || err.code === 'outside_availability') {
        wx.showModal({
          title: '该时段无法预约',
          content: `${err.message}。可更换时间,或选择其他护工。`,
          confirmText: '换个护工',
          cancelText: '换时间',
          success: (res) => {
            if (res.confirm) go('careSearch', { care_type: this.data.careType })
          },
        })
        return
      }
      wx.showToast({ title: message, icon: 'none', duration: 2500 })
    },
  },
})
