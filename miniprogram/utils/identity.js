// ID document and phone checks, the same as the server's (app/common/identity.py), so a form
// refuses a wrong number before any request. The server checks again; its field errors
// (err.details) are shown as well.
const ID_TYPES = [
  { key: 'resident_id', label: '居民身份证' },
  { key: 'passport', label: '护照' },
  { key: 'hk_macau_permit', label: '港澳居民来往内地通行证' },
  { key: 'taiwan_permit', label: '台湾居民来往大陆通行证' },
  { key: 'foreign_permanent_residence', label: '外国人永久居留身份证' },
]

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK_CHARS = '10X98765432'
const RESIDENT_ID = /^\d{17}[\dX]$/
const OTHER_ID = /^[A-Z0-9]{5,20}$/
const MOBILE = /^1[3-9]\d{9}$/

const pad = (n) => String(n).padStart(2, '0')

// as the server stores it: trimmed, upper case, no spaces
function normalizeIdNumber(value) {
  return String(value || '').trim().toUpperCase().replace(/ /g, '')
}

function residentIdCheckChar(first17) {
  let total = 0
  for (let i = 0; i < 17; i += 1) total += Number(first17[i]) * WEIGHTS[i]
  return CHECK_CHARS[total % 11]
}

// today in China (UTC+8), 'YYYY-MM-DD'
function chinaToday() {
  const cn = new Date(Date.now() + 8 * 3600 * 1000)
  return `${cn.getUTCFullYear()}-${pad(cn.getUTCMonth() + 1)}-${pad(cn.getUTCDate())}`
}

// {birthday: 'YYYY-MM-DD', gender: 'male' | 'female'} for a valid 18-digit resident ID, else null
function parseResidentId(value) {
  if (!RESIDENT_ID.test(value)) return null
  if (residentIdCheckChar(value.slice(0, 17)) !== value[17]) return null
  const y = Number(value.slice(6, 10))
  const m = Number(value.slice(10, 12))
  const d = Number(value.slice(12, 14))
  const date = new Date(Date.UTC(y, m - 1, d))
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null
  const birthday = `${y}-${pad(m)}-${pad(d)}`
  if (y < 1900 || birthday > chinaToday()) return null
  return { birthday, gender: Number(value[16]) % 2 === 1 ? 'male' : 'female' }
}

// The server's message for a number that does not fit its type, or '' when it fits.
// Pass the normalized number (normalizeIdNumber).
function idNumberError(idType, value) {
  if (idType === 'resident_id') {
    if (!RESIDENT_ID.test(value)) return '身份证号应为 18 位'
    if (!parseResidentId(value)) return '身份证号校验失败,请核对后重新输入'
    return ''
  }
  if (!OTHER_ID.test(value)) return '证件号码格式不正确'
  return ''
}

const isMobile = (value) => MOBILE.test(String(value || ''))

module.exports = {
  ID_TYPES, MOBILE, normalizeIdNumber, residentIdCheckChar, parseResidentId, idNumberError, isMobile,
}
