// 确认挂号: the chosen schedule (hospital, department, doctor, time, fee), the patient to book
// for, the cancel rule, then 确认并支付: ask for subscribe messages (inside the tap), create the
// registration, pay it (payments.payWith) and go to the registration. Booking refusals are
// explained with what to do next (实名认证, another patient, another schedule).
// 积分抵扣: the balance (GET /me/points), an optional number of points sent with the booking;
// the server's cap (points_over_limit, details.max_points) shows under the field.
// A sold-out schedule (loaded so, or refused as slot_sold_out) on an open day offers 加入候补
// for the chosen patient, then 我的候补.
//
// query: schedule_id, hospital_id, department_id, date (as the department page passes them)
const hospitals = require('../../../services/hospitals')
const patients = require('../../../services/patients')
const booking = require('../../../services/booking')
const payments = require('../../../services/payments')
const subscriptions = require('../../../services/subscriptions')
const membership = require('../../../services/membership')
const waitlist = require('../../../services/waitlist')
const { yuan, dateTime } = require('../../../utils/format')
const { go, url } = require('../../../utils/routes')

// the events of the registration-status template (app/notifications/templates.py)
const SUBSCRIBE_EVENTS = ['registration_booked', 'registration_cancelled', 'registration_closed',
  'schedule_stopped', 'registration_no_show']
// the schedule itself cannot be booked any more: back to choose another
const SCHEDULE_GONE = ['slot_sold_out', 'schedule_stopped', 'booking_closed', 'not_released', 'schedule_not_found']
// this patient cannot take it: choose another patient (or day)
const PATIENT_REFUSED = ['daily_limit_reached', 'already_booked']
// the account or device is over its booking caps (anti-scalping): the server says until when
const LIMITED = ['booking_limit_reached', 'booking_attempts_limited']
// the events of the templates a wait may end with: a held slot (registration status) or the end
const WAITLIST_EVENTS = ['waitlist_offered', 'waitlist_ended']

// 'YYYY-MM-DD' minus n days
function daysBefore(isoDate, n) {
  const [y, m, d] = isoDate.split('-').map(Number)
  const t = new Date(Date.UTC(y, m - 1, d - n))
  const pad = (v) => String(v).padStart(2, '0')
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`
}

// the cancel deadline for a visit on `date` under the hospital's rules (app/hospitals/rules.py)
function cancelRule(rules, date) {
  if (!rules || !date) return ''
  return `${daysBefore(date, rules.cancel_days_before || 0)} ${rules.cancel_time} 前可取消预约,已支付的全额退款;逾期不可取消`
}

Component({
  data: {
    scheduleId: '',
    hospitalId: '',
    departmentId: '',
    date: '',
    hospital: null,
    schedule: null,
    fee: '',
    cancelRule: '',
    patients: [],
    patientId: null,
    patientsState: 'loading',
    state: 'loading',
    errorText: '',
    notice: '', // why booking was refused, shown above the button
    unavailable: false, // the schedule is gone: the button goes back instead
    waitlistable: false, // sold out on an open day: 加入候补 beside it
    submitting: false,
    joining: false,
    pointsBalance: null, // null: not known (the field is hidden)
    pointsInput: '',
    pointsMax: null, // the server's cap for this booking, once it has refused more
    errors: {},
  },
  methods: {
    onLoad(query = {}) {
      subscriptions.prefetch() // the prompt must open inside the tap, with no wait
      this.setData({
        scheduleId: query.schedule_id || '',
        hospitalId: query.hospital_id || '',
        departmentId: query.department_id || '',
        date: query.date || '',
      })
      return this.load()
    },
    // back from adding a patient (or from 实名认证): the patients may have changed
    onShow() {
      if (this.shown) return this.loadPatients()
      this.shown = true
      return null
    },
    async load() {
      const { scheduleId, hospitalId, departmentId, date } = this.data
      if (!scheduleId) {
        this.setData({ state: 'error', errorText: '未指定号源' })
        return
      }
      this.setData({ state: 'loading' })
      try {
        const wanted = hospitalId && departmentId && date
        const [hospital, day] = await Promise.all([
          hospitalId ? hospitals.detail(hospitalId, { toast: false }) : null,
          wanted ? hospitals.schedules(hospitalId, departmentId, date, { toast: false }) : null,
          this.loadPatients(),
          this.loadPoints(),
        ])
        const schedule = day ? day.items.find((s) => String(s.id) === String(scheduleId)) : null
        if (day && !schedule) {
          this.setData({ state: 'error', errorText: '该号源已不存在,请重新选择' })
          return
        }
        const unavailable = !!schedule && !(schedule.bookable && schedule.status === 'open' && schedule.available > 0)
        const waitlistable = !!schedule && schedule.status === 'open' && schedule.available <= 0
          && (!day || day.state === 'open')
        let notice = ''
        if (waitlistable) notice = '该号源已约满,可加入候补或返回选择其他号源'
        else if (unavailable) notice = '该号源当前不可预约,请返回选择其他号源'
        this.setData({
          hospital, schedule, fee: schedule ? yuan(schedule.fee_fen) : '',
          cancelRule: cancelRule(hospital && hospital.booking_rules, date),
          unavailable, waitlistable, notice,
          state: '',
        })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    async loadPatients() {
      this.setData({ patientsState: 'loading' })
      try {
        const page = await patients.list({ page: 1, page_size: 20 }, { toast: false })
        const items = page.items || []
        const kept = items.find((p) => p.id === this.data.patientId)
        this.setData({
          patients: items,
          patientId: kept ? kept.id : (items[0] ? items[0].id : null),
          patientsState: items.length ? '' : 'empty',
        })
      } catch (err) {
        this.setData({ patientsState: 'error' })
      }
    },
    // the points balance; without it (a failure) the 积分抵扣 field is simply not offered
    async loadPoints() {
      try {
        const mine = await membership.points({ page: 1, page_size: 1 }, { toast: false })
        this.setData({ pointsBalance: mine.balance })
      } catch (err) {
        this.setData({ pointsBalance: null })
      }
    },
    onPointsInput(e) {
      this.setData({ pointsInput: String(e.detail.value || '').trim(), errors: {} })
    },
    // the server's cap, into the field
    onUseMax() {
      if (this.data.pointsMax === null) return
      this.setData({ pointsInput: String(this.data.pointsMax), errors: {} })
    },
    // the points to send: 0 for none; null (and the error shown) when the input is wrong
    pointsToUse() {
      const { pointsInput, pointsBalance } = this.data
      if (!pointsInput || pointsBalance === null) return 0
      let error = ''
      if (!/^\d+$/.test(pointsInput)) error = '请输入整数积分'
      else if (Number(pointsInput) > pointsBalance) error = `可用积分不足(可用 ${pointsBalance} 积分)`
      if (error) {
        this.setData({ errors: { points: error } })
        wx.showToast({ title: error, icon: 'none' })
        return null
      }
      return Number(pointsInput)
    },
    onPatient(e) {
      this.setData({ patientId: Number(e.currentTarget.dataset.id), notice: this.data.unavailable ? this.data.notice : '' })
    },
    onAddPatient() {
      go('patientEdit')
    },
    onBack() {
      wx.navigateBack({ delta: 1 })
    },
    async onSubmit() {
      if (this.data.unavailable) return this.onBack()
      if (this.data.submitting) return null
      const { patientId, scheduleId } = this.data
      if (!patientId) {
        wx.showToast({ title: '请选择就诊人', icon: 'none' })
        return null
      }
      const points = this.pointsToUse()
      if (points === null) return null
      this.setData({ submitting: true, notice: '', errors: {} })
      // WeChat only shows the subscribe prompt from a tap: ask before anything else
      await subscriptions.subscribe(SUBSCRIBE_EVENTS)
      const data = { schedule_id: Number(scheduleId), patient_id: patientId }
      if (points > 0) data.points = points
      let result
      try {
        result = await booking.create(data, { toast: false })
      } catch (err) {
        this.setData({ submitting: false })
        this.refused(err)
        return null
      }
      try {
        await payments.payWith(result)
        wx.showToast({ title: '预约成功', icon: 'success' })
      } catch (err) {
        // cancelled, still pending or failed: payments has said so; the registration waits
        // for payment (with its deadline) on its own page
      }
      this.setData({ submitting: false })
      wx.redirectTo({ url: url('registration', { id: result.registration.id }) })
      return null
    },
    // 加入候补: the chosen patient joins the sold-out schedule's queue; then 我的候补
    async onJoinWaitlist() {
      if (this.data.joining || !this.data.waitlistable) return null
      const { patientId, scheduleId } = this.data
      if (!patientId) {
        wx.showToast({ title: '请选择就诊人', icon: 'none' })
        return null
      }
      this.setData({ joining: true })
      // inside the tap, before anything else: the prompt for the hold's and the end's messages
      await subscriptions.subscribe(WAITLIST_EVENTS)
      try {
        await waitlist.join({ schedule_id: Number(scheduleId), patient_id: patientId }, { toast: false })
      } catch (err) {
        this.setData({ joining: false })
        this.waitlistRefused(err)
        return null
      }
      this.setData({ joining: false })
      wx.showToast({ title: '已加入候补', icon: 'success' })
      wx.redirectTo({ url: url('waitlist') })
      return null
    },
    waitlistRefused(err) {
      const { code, message } = err
      if (code === 'waitlist_already_joined') {
        this.setData({ notice: message })
        wx.showModal({
          title: '已在候补中', content: message, confirmText: '去查看', cancelText: '知道了',
          success: (res) => { if (res.confirm) wx.redirectTo({ url: url('waitlist') }) },
        })
        return
      }
      if (code === 'waitlist_schedule_has_seats') {
        // a slot came back meanwhile: book it instead
        wx.showToast({ title: message, icon: 'none', duration: 2500 })
        this.load()
        return
      }
      if (code === 'waitlist_limit_reached') {
        wx.showToast({ title: message, icon: 'none', duration: 2500 })
        this.setData({ notice: message })
        return
      }
      this.refused(err)
    },
    // a refused booking: the server's message, and the way forward
    refused(err) {
      const { code, message } = err
      const details = err.details || {}
      if (code === 'points_over_limit' || code === 'points_insufficient' || details.points) {
        const max = Number.isInteger(details.max_points) ? details.max_points : null
        let field = message
        if (max !== null) field = max > 0 ? `本单最多可使用 ${max} 积分` : '本单不可使用积分抵扣'
        else if (Array.isArray(details.points)) field = String(details.points[0])
        this.setData({ errors: { points: field }, pointsMax: max && max > 0 ? max : null })
        wx.showToast({ title: message, icon: 'none', duration: 2500 })
        if (code === 'points_insufficient') this.loadPoints()
        return
      }
      if (code === 'not_released' && details.opens_at) {
        // not yet, but it will be (members earlier): the schedule is still the right one
        wx.showToast({ title: message, icon: 'none', duration: 2500 })
        this.setData({ notice: `${message},请于 ${dateTime(details.opens_at)} 后再预约` })
        return
      }
      if (LIMITED.includes(code)) {
        wx.showToast({ title: message, icon: 'none', duration: 2500 })
        this.setData({ notice: message })
        return
      }
      if (code === 'real_name_required') {
        this.setData({ notice: message })
        wx.showModal({
          title: '需要实名认证', content: message, confirmText: '去认证', cancelText: '暂不',
          success: (res) => { if (res.confirm) go('realName') },
        })
        return
      }
      if (code === 'booking_blocked') {
        this.setData({ notice: message })
        wx.showModal({ title: '暂时无法预约', content: message, showCancel: false, confirmText: '知道了' })
        return
      }
      wx.showToast({ title: message, icon: 'none', duration: 2500 })
      if (SCHEDULE_GONE.includes(code)) {
        const soldOut = code === 'slot_sold_out'
        const schedule = this.data.schedule && soldOut
          ? { ...this.data.schedule, available: 0 } : this.data.schedule
        this.setData({
          schedule, unavailable: true, waitlistable: soldOut && !!schedule && schedule.status === 'open',
          notice: `${message},请返回选择其他号源`,
        })
      } else if (PATIENT_REFUSED.includes(code)) {
        this.setData({ notice: `${message},请选择其他就诊人或日期` })
      } else if (code === 'patient_not_found') {
        this.loadPatients()
      } else if (err.details && Object.keys(err.details).length) {
        const first = Object.values(err.details)[0]
        this.setData({ notice: Array.isArray(first) ? first[0] : String(first) })
      }
    },
  },
})
