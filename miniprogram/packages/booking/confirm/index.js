// 确认挂号: the chosen schedule (hospital, department, doctor, time, fee), the patient to book
// for, the cancel rule, then 确认并支付: ask for subscribe messages (inside the tap), create the
// registration, pay it (payments.payWith) and go to the registration. Booking refusals are
// explained with what to do next (实名认证, another patient, another schedule).
//
// query: schedule_id, hospital_id, department_id, date (as the department page passes them)
const hospitals = require('../../../services/hospitals')
const patients = require('../../../services/patients')
const booking = require('../../../services/booking')
const payments = require('../../../services/payments')
const subscriptions = require('../../../services/subscriptions')
const { yuan } = require('../../../utils/format')
const { go, url } = require('../../../utils/routes')

// the events of the registration-status template (app/notifications/templates.py)
const SUBSCRIBE_EVENTS = ['registration_booked', 'registration_cancelled', 'registration_closed',
  'schedule_stopped', 'registration_no_show']
// the schedule itself cannot be booked any more: back to choose another
const SCHEDULE_GONE = ['slot_sold_out', 'schedule_stopped', 'booking_closed', 'not_released', 'schedule_not_found']
// this patient cannot take it: choose another patient (or day)
const PATIENT_REFUSED = ['daily_limit_reached', 'already_booked']

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
    submitting: false,
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
        ])
        const schedule = day ? day.items.find((s) => String(s.id) === String(scheduleId)) : null
        if (day && !schedule) {
          this.setData({ state: 'error', errorText: '该号源已不存在,请重新选择' })
          return
        }
        const unavailable = !!schedule && !(schedule.bookable && schedule.status === 'open' && schedule.available > 0)
        this.setData({
          hospital, schedule, fee: schedule ? yuan(schedule.fee_fen) : '',
          cancelRule: cancelRule(hospital && hospital.booking_rules, date),
          unavailable, notice: unavailable ? '该号源当前不可预约,请返回选择其他号源' : '',
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
      this.setData({ submitting: true, notice: '' })
      // WeChat only shows the subscribe prompt from a tap: ask before anything else
      await subscriptions.subscribe(SUBSCRIBE_EVENTS)
      let result
      try {
        result = await booking.create({ schedule_id: Number(scheduleId), patient_id: patientId }, { toast: false })
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
    // a refused booking: the server's message, and the way forward
    refused(err) {
      const { code, message } = err
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
        const schedule = this.data.schedule && code === 'slot_sold_out'
          ? { ...this.data.schedule, available: 0 } : this.data.schedule
        this.setData({ schedule, unavailable: true, notice: `${message},请返回选择其他号源` })
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
