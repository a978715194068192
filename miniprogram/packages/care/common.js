// Helpers shared by the care pages (找护工, 护工详情, 预约陪护, 陪护订单). Times are China time:
// the API wants date-times with a zone on the half-hour grid, e.g. 2026-12-01T08:00:00+08:00.
const { chinaParts, WEEKDAYS } = require('../../utils/format')

const pad = (n) => String(n).padStart(2, '0')

// '2026-12-01', '08:00' → '2026-12-01T08:00:00+08:00'
function isoAt(date, time) {
  return `${date}T${time}:00+08:00`
}

// any instant (Date, ISO string, ms) → '2026-12-01T08:00:00+08:00'
function isoChina(value) {
  const p = chinaParts(value instanceof Date || typeof value === 'string' ? value : new Date(value))
  return p ? `${p.y}-${pad(p.m)}-${pad(p.d)}T${pad(p.hh)}:${pad(p.mm)}:00+08:00` : ''
}

function addHours(iso, hours) {
  return isoChina(new Date(iso).getTime() + hours * 3600 * 1000)
}

// '2026-12-01T08:00:00+08:00' → {date: '2026-12-01', time: '08:00'} (China time)
function splitIso(iso) {
  const p = iso ? chinaParts(iso) : null
  return p ? { date: `${p.y}-${pad(p.m)}-${pad(p.d)}`, time: `${pad(p.hh)}:${pad(p.mm)}` } : null
}

// the 48 start times of the half-hour grid
const HALF_HOURS = Array.from({ length: 48 }, (v, i) => `${pad(Math.floor(i / 2))}:${i % 2 ? '30' : '00'}`)

// a window [start, end) as '01-05 周一 08:00–20:00' (or '01-05 08:00 – 01-06 08:00')
function windowText(start, end) {
  const s = chinaParts(start)
  const e = chinaParts(end)
  if (!s || !e) return ''
  const head = `${pad(s.m)}-${pad(s.d)} ${WEEKDAYS[s.weekday]} ${pad(s.hh)}:${pad(s.mm)}`
  const sameDay = s.y === e.y && s.m === e.m && s.d === e.d
  // an end at 24:00 reads better as 24:00 than as the next day's 00:00
  const endsAtMidnight = e.hh === 0 && e.mm === 0
    && new Date(end).getTime() - new Date(start).getTime() <= 24 * 3600 * 1000
  if (sameDay) return `${head}–${pad(e.hh)}:${pad(e.mm)}`
  if (endsAtMidnight) return `${head}–24:00`
  return `${head} – ${pad(e.m)}-${pad(e.d)} ${pad(e.hh)}:${pad(e.mm)}`
}

// How long one unit of each care type lasts (app/care_orders/pricing.py UNIT_LENGTH); an
// escort (陪诊) is one visit of at most 12 hours, booked by its length in hours.
const UNIT_HOURS = { full_day: 24, day_shift: 12, night_shift: 12, hourly: 1, escort: null }
const ESCORT_MAX_HOURS = 12
const MAX_UNITS = { full_day: 30, day_shift: 30, night_shift: 30, hourly: 72 }
// the unit each type is priced by (GET /care-types unit_name), for orders that do not carry it
const UNIT_NAMES = { full_day: '天', day_shift: '班', night_shift: '班', hourly: '小时', escort: '次' }

// the first field error of a validation_error / 422 (err.details = {field: [messages]})
function firstDetail(err) {
  const details = (err && err.details) || {}
  const key = Object.keys(details).find((k) => Array.isArray(details[k]) && details[k].length)
  return key ? details[key][0] : ''
}

function stars(n) {
  const count = Math.max(0, Math.min(5, Math.round(Number(n) || 0)))
  return '★★★★★'.slice(0, count) + '☆☆☆☆☆'.slice(0, 5 - count)
}

module.exports = {
  isoAt, isoChina, addHours, splitIso, HALF_HOURS, windowText, UNIT_HOURS, ESCORT_MAX_HOURS,
  MAX_UNITS, UNIT_NAMES, firstDetail, stars,
}
