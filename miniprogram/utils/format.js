// Display helpers shared by pages and components. Money is integer fen everywhere in the API.

// 12345 → "123.45"; null/undefined → ""
function yuan(fen) {
  if (fen === null || fen === undefined || fen === '') return ''
  const n = Number(fen)
  const sign = n < 0 ? '-' : ''
  const abs = Math.abs(Math.round(n))
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

const pad = (n) => String(n).padStart(2, '0')

// A Date in China time (UTC+8) whatever the device's zone; the API's date-times carry a zone.
function chinaParts(value) {
  const date = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(date.getTime())) return null
  const cn = new Date(date.getTime() + 8 * 3600 * 1000)
  return {
    y: cn.getUTCFullYear(), m: cn.getUTCMonth() + 1, d: cn.getUTCDate(),
    hh: cn.getUTCHours(), mm: cn.getUTCMinutes(), weekday: cn.getUTCDay(),
  }
}

// "2026-01-05T09:30:00+08:00" → "2026-01-05 09:30"
function dateTime(value) {
  const p = value ? chinaParts(value) : null
  return p ? `${p.y}-${pad(p.m)}-${pad(p.d)} ${pad(p.hh)}:${pad(p.mm)}` : ''
}

// → "2026-01-05" (China date); with no argument, today
function day(value) {
  const p = chinaParts(value === undefined ? new Date() : value)
  return p ? `${p.y}-${pad(p.m)}-${pad(p.d)}` : ''
}

const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六']

// "2026-01-05" → "01-05"
function monthDay(isoDate) {
  return isoDate ? isoDate.slice(5, 10) : ''
}

module.exports = { yuan, dateTime, day, monthDay, WEEKDAYS, chinaParts }
