// 科室排班: the department's days as a 7-day strip (remaining counts per day; 下一周 when the
// booking window is longer), then the chosen day's doctors with title, period, fee and
// remaining. A bookable doctor opens the booking confirmation; so does a sold-out one on a day
// still open for booking (约满 · 可候补), where the confirmation offers 加入候补.
const hospitals = require('../../../services/hospitals')
const { yuan, dateTime } = require('../../../utils/format')
const { go, decodeQueryValue } = require('../../../utils/routes')

const WEEK = 7

// dayState: the DaySchedules window state; a wait is only taken while the day is open
function scheduleView(s, dayState) {
  let remaining
  if (s.status === 'stopped') remaining = '停诊'
  else if (s.available <= 0) remaining = '约满'
  else remaining = `余${s.available}`
  return {
    id: s.id,
    doctor: s.doctor,
    initial: (s.doctor && s.doctor.name ? s.doctor.name : '医').slice(0, 1),
    time: `${s.period_name} ${s.start_time}-${s.end_time}`,
    fee: yuan(s.fee_fen),
    remaining,
    stopReason: s.status === 'stopped' ? (s.stop_reason || '') : '',
    bookable: !!s.bookable && s.status === 'open' && s.available > 0,
    waitlistable: s.status === 'open' && s.available <= 0 && dayState === 'open',
  }
}

// why a day's list cannot be booked, from the DaySchedules window state
function windowHint(day) {
  if (day.state === 'not_released') return `该日号源将于 ${dateTime(day.release_at)} 放出`
  if (day.state === 'closed') return '该日预约已截止'
  return ''
}

Component({
  data: {
    hospitalId: '',
    departmentId: '',
    department: null,
    days: [],
    weekStart: 0,
    weekDays: [],
    date: '',
    schedules: [],
    windowHint: '',
    state: 'loading',
    errorText: '',
    dayState: '', // the doctors list: 'loading' | 'empty' | 'error' | ''
    dayErrorText: '',
  },
  methods: {
    onLoad(query = {}) {
      this.setData({
        hospitalId: query.hospital_id || '',
        departmentId: query.department_id || '',
        date: query.date || '',
      })
      if (query.name && wx.setNavigationBarTitle) wx.setNavigationBarTitle({ title: decodeQueryValue(query.name) })
      return this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    // the calendar, then the chosen (or first bookable) day's doctors
    async load() {
      const { hospitalId, departmentId } = this.data
      if (!hospitalId || !departmentId) {
        this.setData({ state: 'error', errorText: '未指定科室' })
        return
      }
      this.setData({ state: 'loading' })
      try {
        const calendar = await hospitals.calendar(hospitalId, departmentId, { toast: false })
        const days = calendar.days || []
        const selectable = (d) => d.state !== 'none' && d.state !== 'not_released'
        const chosen = days.find((d) => d.date === this.data.date && selectable(d))
          || days.find((d) => d.state === 'open') || days.find(selectable) || null
        const index = chosen ? days.indexOf(chosen) : 0
        this.setData({
          department: calendar.department, days, date: chosen ? chosen.date : '',
          state: days.length ? '' : 'empty', errorText: days.length ? '' : '暂无排班',
        })
        this.showWeek(Math.floor(index / WEEK) * WEEK)
        if (chosen) await this.loadDay(chosen.date)
        else this.setData({ schedules: [], dayState: 'empty', dayErrorText: '近期暂无可预约的号源' })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.message })
      }
    },
    showWeek(start) {
      this.setData({ weekStart: start, weekDays: this.data.days.slice(start, start + WEEK) })
    },
    onPrevWeek() {
      if (this.data.weekStart > 0) this.showWeek(this.data.weekStart - WEEK)
    },
    onNextWeek() {
      if (this.data.weekStart + WEEK < this.data.days.length) this.showWeek(this.data.weekStart + WEEK)
    },
    async loadDay(date) {
      const { hospitalId, departmentId } = this.data
      this.setData({ date, dayState: 'loading', windowHint: '' })
      try {
        const day = await hospitals.schedules(hospitalId, departmentId, date, { toast: false })
        if (date !== this.data.date) return // another day was chosen meanwhile
        const schedules = (day.items || []).map((s) => scheduleView(s, day.state))
        this.setData({
          schedules, windowHint: windowHint(day),
          dayState: schedules.length ? '' : 'empty', dayErrorText: schedules.length ? '' : '该日暂无医生出诊',
        })
      } catch (err) {
        if (date === this.data.date) this.setData({ dayState: 'error', dayErrorText: err.message })
      }
    },
    reloadDay() {
      return this.loadDay(this.data.date)
    },
    onDay(e) {
      const { date } = e.detail
      if (date === this.data.date) return null
      return this.loadDay(date)
    },
    onBook(e) {
      const { id, bookable, waitlistable } = e.currentTarget.dataset
      if (!bookable && !waitlistable) return
      const { hospitalId, departmentId, date } = this.data
      go('bookingConfirm', { schedule_id: id, hospital_id: hospitalId, department_id: departmentId, date })
    },
  },
})
