// 排班与接单设置: weekly working windows per weekday (PUT .../availability/weekly replaces them
// all), dated exceptions (休息 / 加班, POST and DELETE .../availability/exceptions) and the
// order rules on the profile (accepts urgent orders, night service and its surcharge: PATCH
// /caregiver/me, applied at once). The checks are the server's: start before end, windows of a
// day not overlapping, dates within the next 60 days, the night surcharge at most 200 元.
const caregivers = require('../../../services/caregivers')
const { day, yuan } = require('../../../utils/format')
const { LIMITS, TIME, fieldErrors, toast, confirm } = require('../common')

const WEEKDAYS = ['周一', '周二', '周三', '周四', '周五', '周六', '周日'] // 0 = 周一, as the API
const HORIZON_DAYS = 60 // AVAILABILITY_HORIZON_DAYS
const KINDS = [{ value: 'off', label: '休息' }, { value: 'extra', label: '加班' }]
const AMOUNT = /^\d+(\.\d{1,2})?$/

function addDays(iso, n) {
  const [y, m, d] = iso.split('-').map(Number)
  const date = new Date(Date.UTC(y, m - 1, d + n))
  return date.toISOString().slice(0, 10)
}

// the weekdays' problems: {weekday: message}
function weeklyErrors(days) {
  const errors = {}
  days.forEach((d) => {
    const windows = d.windows.slice().sort((a, b) => (a.start < b.start ? -1 : 1))
    windows.forEach((w, i) => {
      if (errors[d.weekday]) return
      if (!TIME.test(w.start) || !TIME.test(w.end)) errors[d.weekday] = '时间格式应为 HH:MM'
      else if (w.start >= w.end) errors[d.weekday] = '结束时间应晚于开始时间'
      else if (i > 0 && w.start < windows[i - 1].end) errors[d.weekday] = '同一天的时间段不能重叠'
    })
  })
  return errors
}

Component({
  data: {
    state: 'loading', errorText: '', days: [], weeklyErrors: {}, savingWeekly: false,
    exceptions: [], kinds: KINDS, kindNames: KINDS.map((k) => k.label), adding: false,
    exception: null, exceptionErrors: {}, today: '', lastDay: '',
    rules: { accepts_urgent: false, night_service: false, night_surcharge: '' }, rulesError: '', savingRules: false,
  },
  methods: {
    onLoad() {
      return this.load()
    },
    async load() {
      const today = day()
      this.setData({ state: 'loading', today, lastDay: addDays(today, HORIZON_DAYS - 1) })
      try {
        const [availability, profile] = await Promise.all([
          caregivers.availability({ toast: false }),
          caregivers.myProfile({ toast: false }),
        ])
        this.showAvailability(availability)
        this.setData({
          rules: {
            accepts_urgent: profile.accepts_urgent,
            night_service: profile.night_service,
            night_surcharge: profile.night_surcharge_fen ? yuan(profile.night_surcharge_fen) : '',
          },
          state: '',
        })
      } catch (err) {
        this.setData({ state: 'error', errorText: err.status === 404 ? '请先提交护工入驻申请' : err.message })
      }
    },
    showAvailability(availability) {
      const days = WEEKDAYS.map((name, weekday) => ({
        weekday, name,
        windows: availability.weekly.filter((w) => w.weekday === weekday).map((w) => ({ start: w.start, end: w.end })),
      }))
      const exceptions = availability.exceptions.map((e) => ({
        ...e, time: e.start === '00:00' && e.end === '24:00' ? '全天' : `${e.start}–${e.end}`,
      }))
      this.setData({ days, exceptions, weeklyErrors: {} })
    },

    // ---- weekly windows
    onAddWindow(e) {
      const weekday = Number(e.currentTarget.dataset.weekday)
      const windows = this.data.days[weekday].windows
      const last = windows[windows.length - 1]
      const window = last && last.end < '20:00' ? { start: last.end, end: '24:00' } : { start: '08:00', end: '18:00' }
      this.setData({ [`days[${weekday}].windows`]: windows.concat(window), [`weeklyErrors.${weekday}`]: '' })
    },
    onRemoveWindow(e) {
      const { weekday, index } = e.currentTarget.dataset
      const windows = this.data.days[weekday].windows.filter((w, i) => i !== Number(index))
      this.setData({ [`days[${weekday}].windows`]: windows, [`weeklyErrors.${weekday}`]: '' })
    },
    onWindowTime(e) {
      const { weekday, index, field } = e.currentTarget.dataset
      this.setData({ [`days[${weekday}].windows[${index}].${field}`]: e.detail.value, [`weeklyErrors.${weekday}`]: '' })
    },
    onWholeDay(e) {
      const { weekday, index } = e.currentTarget.dataset
      this.setData({ [`days[${weekday}].windows[${index}]`]: { start: '00:00', end: '24:00' }, [`weeklyErrors.${weekday}`]: '' })
    },
    async onSaveWeekly() {
      if (this.data.savingWeekly) return
      const errors = weeklyErrors(this.data.days)
      if (Object.keys(errors).length) {
        this.setData({ weeklyErrors: errors })
        const first = Object.keys(errors)[0]
        toast(`${WEEKDAYS[first]}:${errors[first]}`)
        return
      }
      const windows = []
      this.data.days.forEach((d) => d.windows.forEach((w) => windows.push({ weekday: d.weekday, start: w.start, end: w.end })))
      if (windows.length > 42) {
        toast('时间段最多 42 个')
        return
      }
      this.setData({ savingWeekly: true })
      try {
        const availability = await caregivers.setWeekly({ windows })
        this.showAvailability(availability)
        toast('排班已保存', 'success')
      } catch (err) {
        // toasted
      } finally {
        this.setData({ savingWeekly: false })
      }
    },

    // ---- dated exceptions
    onNewException() {
      this.setData({
        adding: true, exceptionErrors: {},
        exception: { day: '', kind: 'off', kindIndex: 0, whole: true, start: '08:00', end: '18:00', note: '' },
      })
    },
    onCancelException() {
      this.setData({ adding: false })
    },
    onExceptionField(e) {
      const { field } = e.currentTarget.dataset
      this.setData({ [`exception.${field}`]: e.detail.value, [`exceptionErrors.${field}`]: '' })
    },
    onExceptionKind(e) {
      const kindIndex = Number(e.detail.value)
      const kind = KINDS[kindIndex].value
      this.setData({ 'exception.kindIndex': kindIndex, 'exception.kind': kind, 'exception.whole': kind === 'off' && this.data.exception.whole })
    },
    onExceptionWhole() {
      this.setData({ 'exception.whole': !this.data.exception.whole })
    },
    async onSaveException() {
      const x = this.data.exception
      const { today, lastDay } = this.data
      const errors = {}
      const whole = x.kind === 'off' && x.whole
      if (!x.day) errors.day = '请选择日期'
      else if (x.day < today || x.day > lastDay) errors.day = `日期应在 ${today} 至 ${lastDay} 之间`
      if (!whole && x.start >= x.end) errors.end = '结束时间应晚于开始时间'
      if ((x.note || '').length > 64) errors.note = '备注最多 64 字'
      if (Object.keys(errors).length) {
        this.setData({ exceptionErrors: errors })
        toast(errors[Object.keys(errors)[0]])
        return
      }
      const body = { day: x.day, kind: x.kind, note: (x.note || '').trim() || null }
      if (!whole) {
        body.start = x.start
        body.end = x.end
      }
      try {
        await caregivers.addException(body, { toast: false })
        this.setData({ adding: false })
        toast('已添加', 'success')
        this.showAvailability(await caregivers.availability())
      } catch (err) {
        this.setData({ exceptionErrors: fieldErrors(err) })
        toast(err.message)
      }
    },
    async onRemoveException(e) {
      const id = Number(e.currentTarget.dataset.id)
      if (!(await confirm('确定删除这条排班例外吗?'))) return
      try {
        await caregivers.removeException(id)
        this.setData({ exceptions: this.data.exceptions.filter((x) => x.id !== id) })
        toast('已删除')
      } catch (err) {
        // toasted
      }
    },

    // ---- order rules
    onRule(e) {
      const { field } = e.currentTarget.dataset
      this.setData({ [`rules.${field}`]: e.detail.value, rulesError: '' })
    },
    async onSaveRules() {
      if (this.data.savingRules) return
      const { rules } = this.data
      const text = String(rules.night_surcharge || '').trim()
      let fen = 0
      if (rules.night_service && text) {
        if (!AMOUNT.test(text)) {
          this.setData({ rulesError: '请输入正确的金额(最多两位小数)' })
          toast('请输入正确的金额(最多两位小数)')
          return
        }
        fen = Math.round(Number(text) * 100)
        if (fen > LIMITS.nightSurchargeMaxFen) {
          const message = `夜间附加费不能超过 ${LIMITS.nightSurchargeMaxFen / 100} 元`
          this.setData({ rulesError: message })
          toast(message)
          return
        }
      }
      this.setData({ savingRules: true })
      try {
        await caregivers.updateProfile({
          accepts_urgent: !!rules.accepts_urgent, night_service: !!rules.night_service,
          night_surcharge_fen: rules.night_service ? fen : 0,
        }, { toast: false })
        toast('设置已保存', 'success')
      } catch (err) {
        const errors = fieldErrors(err)
        this.setData({ rulesError: errors.night_surcharge_fen || '' })
        toast(err.message)
      } finally {
        this.setData({ savingRules: false })
      }
    },
  },
})
