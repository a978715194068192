// Helpers shared by the caregiver pages (not a page): the checks the server makes on a
// caregiver's writes (app/caregivers, app/qualifications, app/availability, app/care_orders),
// field errors from err.details, the acceptance countdown, the service area from the hospital
// catalogue, and picking + uploading photos.
const files = require('../../services/files')
const { day } = require('../../utils/format')
const { chooseImages } = require('../../utils/images')

// the server's limits (config.py and the schemas)
const LIMITS = {
  minAge: 18, // CAREGIVER_MIN_AGE
  maxAge: 70, // CAREGIVER_MAX_AGE
  minWorkingAge: 16, // years of experience cannot start before this age
  nightSurchargeMaxFen: 20000, // CARE_NIGHT_SURCHARGE_MAX_FEN
  maxSkills: 10,
  maxHospitals: 20,
  maxDistricts: 20,
  maxWorkHistory: 10,
  bioMax: 500,
  recordTextMax: 1000,
  recordPhotosMax: 9,
  qualificationFilesMax: 6,
  expiryWarningDays: 30, // QUALIFICATION_EXPIRY_WARNING_DAYS
}

const GENDERS = [{ value: 'male', label: '男' }, { value: 'female', label: '女' }]

const QUALIFICATION_KINDS = [
  { value: 'id_card', label: '身份证' },
  { value: 'nursing_certificate', label: '护理资格证' },
  { value: 'health_certificate', label: '健康证' },
]

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/
const TIME = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/
const CERTIFICATE_NUMBER = /^[A-Za-z0-9-]{4,64}$/

// {field: [message]} (the API's validation details) → {field: 'message'}; nested keys
// ("work_history.0.start") are kept as they are.
function fieldErrors(err) {
  const out = {}
  const details = (err && err.details) || {}
  Object.keys(details).forEach((key) => {
    const value = details[key]
    if (Array.isArray(value)) out[key] = String(value[0])
    else if (typeof value === 'string') out[key] = value
    else if (value && typeof value === 'object') {
      Object.keys(value).forEach((sub) => {
        const v = value[sub]
        out[`${key}.${sub}`] = Array.isArray(v) ? String(v[0]) : JSON.stringify(v)
      })
    }
  })
  return out
}

// Age in whole years on `today` ('YYYY-MM-DD' strings)
function age(birthDate, today) {
  const [by, bm, bd] = birthDate.split('-').map(Number)
  const [ty, tm, td] = today.split('-').map(Number)
  return ty - by - ((tm < bm || (tm === bm && td < bd)) ? 1 : 0)
}

// GB 11643: 18 characters, the last a checksum; as app/common/identity.py says it
function idCardError(raw) {
  const value = String(raw || '').trim().toUpperCase().replace(/ /g, '')
  if (!/^\d{17}[\dX]$/.test(value)) return '身份证号应为 18 位'
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = weights.reduce((acc, w, i) => acc + w * Number(value[i]), 0)
  const y = Number(value.slice(6, 10))
  const m = Number(value.slice(10, 12))
  const d = Number(value.slice(12, 14))
  const born = new Date(Date.UTC(y, m - 1, d))
  const real = born.getUTCFullYear() === y && born.getUTCMonth() === m - 1 && born.getUTCDate() === d
  const birth = `${value.slice(6, 10)}-${value.slice(10, 12)}-${value.slice(12, 14)}`
  if ('10X98765432'[sum % 11] !== value[17] || !real || y < 1900 || birth > day()) {
    return '身份证号校验失败,请核对后重新输入'
  }
  return null
}

// The application form's checks (CaregiverWriteSchema + the service's _validated); form
// holds the page's strings. `complete`: also what submitting needs.
function profileErrors(form, { complete = false } = {}) {
  const errors = {}
  const today = day()
  const name = (form.name || '').trim()
  if (name.length < 2 || name.length > 32) errors.name = '姓名应为 2–32 个字'
  if (complete && !form.gender) errors.gender = '请选择性别'
  if (form.birth_date) {
    const years = age(form.birth_date, today)
    if (form.birth_date > today || years < LIMITS.minAge || years > LIMITS.maxAge) {
      errors.birth_date = `护工年龄须在 ${LIMITS.minAge} 到 ${LIMITS.maxAge} 岁之间`
    }
  } else if (complete) errors.birth_date = '请填写出生日期'
  if (complete && !form.city_code) errors.city_code = '请选择服务城市'
  if ((form.district_codes || []).length > LIMITS.maxDistricts) errors.district_codes = `最多选择 ${LIMITS.maxDistricts} 个区县`
  if ((form.hospital_ids || []).length > LIMITS.maxHospitals) errors.hospital_ids = `最多选择 ${LIMITS.maxHospitals} 家医院`
  const skills = form.skills || []
  if (!skills.length) errors.skills = '请至少选择一项技能'
  else if (skills.length > LIMITS.maxSkills) errors.skills = `技能最多选择 ${LIMITS.maxSkills} 项`
  const years = String(form.years_experience === undefined ? '' : form.years_experience).trim()
  if (!/^\d+$/.test(years) || Number(years) > 50) errors.years_experience = '从业年限应为 0–50 的整数'
  else if (form.birth_date && !errors.birth_date) {
    const most = Math.max(age(form.birth_date, today) - LIMITS.minWorkingAge, 0)
    if (Number(years) > most) errors.years_experience = `从业年限不能超过 ${most} 年(按年龄计算)`
  }
  if ((form.bio || '').length > LIMITS.bioMax) errors.bio = `简介最多 ${LIMITS.bioMax} 字`
  const history = form.work_history || []
  if (history.length > LIMITS.maxWorkHistory) errors.work_history = `工作经历最多 ${LIMITS.maxWorkHistory} 条`
  history.forEach((h, i) => {
    const employer = (h.employer || '').trim()
    const role = (h.role || '').trim()
    let problem = null
    if (!employer || employer.length > 64) problem = '请填写工作单位(最多 64 字)'
    else if (!role || role.length > 32) problem = '请填写岗位(最多 32 字)'
    else if (!MONTH.test(h.start || '')) problem = '请选择开始月份'
    else if (h.end && !MONTH.test(h.end)) problem = '结束月份格式应为 YYYY-MM'
    else if (h.end && h.end < h.start) problem = '结束月份不能早于开始月份'
    if (problem) errors[`work_history.${i}`] = problem
  })
  if (complete && !form.photo_file_id) errors.photo_file_id = '请上传照片'
  return errors
}

// The CaregiverWrite body from the form (only the fields that have a value)
function profileBody(form) {
  const body = {
    name: (form.name || '').trim(),
    skills: form.skills.slice(),
    years_experience: Number(form.years_experience),
    bio: (form.bio || '').trim() || null,
    work_history: (form.work_history || []).map((h) => ({
      start: h.start, end: h.end || null, employer: h.employer.trim(), role: h.role.trim(),
    })),
  }
  if (form.gender) body.gender = form.gender
  if (form.birth_date) body.birth_date = form.birth_date
  if (form.city_code) {
    body.city_code = form.city_code
    body.district_codes = (form.district_codes || []).slice()
    body.hospital_ids = (form.hospital_ids || []).slice()
  }
  if (form.photo_file_id) body.photo_file_id = form.photo_file_id
  return body
}

// The form's strings from a MyCaregiver (pending revision values on top when given)
function profileForm(profile, changes) {
  const p = { ...(profile || {}) }
  const c = changes || {}
  const skills = c.skills || (p.skills || []).map((s) => s.code)
  return {
    name: c.name !== undefined ? c.name : (p.name || ''),
    gender: c.gender !== undefined ? c.gender : (p.gender || ''),
    birth_date: c.birth_date !== undefined ? c.birth_date : (p.birth_date || ''),
    city_code: p.city_code || '',
    district_codes: (p.district_codes || []).slice(),
    hospital_ids: (p.hospitals || []).map((h) => h.id),
    skills: skills.slice(),
    years_experience: String(c.years_experience !== undefined ? c.years_experience : (p.years_experience || 0)),
    bio: c.bio !== undefined ? (c.bio || '') : (p.bio || ''),
    work_history: (c.work_history || p.work_history || []).map((h) => ({
      start: h.start, end: h.end || '', employer: h.employer, role: h.role,
    })),
    photo_file_id: c.photo_file_id !== undefined ? c.photo_file_id : (p.photo_file_id || null),
  }
}

// The service area from the hospital catalogue (the API has no region list): cities and
// districts named from the hospitals' addresses ("北京市东城区…"), hospitals per city.
function serviceArea(hospitals) {
  const cities = []
  const byCode = {}
  ;(hospitals || []).forEach((h) => {
    const address = h.address || ''
    const cityMatch = address.match(/^(.+?市)/)
    let city = byCode[h.city_code]
    if (!city) {
      city = { code: h.city_code, name: cityMatch ? cityMatch[1] : `城市 ${h.city_code}`, districts: [], hospitals: [] }
      byCode[h.city_code] = city
      cities.push(city)
    }
    if (h.district_code && !city.districts.some((d) => d.code === h.district_code)) {
      const rest = cityMatch ? address.slice(cityMatch[1].length) : address
      const districtMatch = rest.match(/^(.+?[区县市])/)
      city.districts.push({ code: h.district_code, name: districtMatch ? districtMatch[1] : `区县 ${h.district_code}` })
    }
    city.hospitals.push({ id: h.id, name: h.name })
  })
  return cities
}

// Remaining time to an ISO deadline: {seconds, text}; text '' when there is no deadline.
function countdown(deadline, now = Date.now()) {
  if (!deadline) return { seconds: null, text: '' }
  const left = Math.floor((new Date(deadline).getTime() - now) / 1000)
  if (Number.isNaN(left)) return { seconds: null, text: '' }
  if (left <= 0) return { seconds: 0, text: '已超时' }
  const h = Math.floor(left / 3600)
  const m = Math.floor((left % 3600) / 60)
  const s = left % 60
  const pad = (n) => String(n).padStart(2, '0')
  return { seconds: left, text: h ? `${h}小时${pad(m)}分${pad(s)}秒` : `${m}分${pad(s)}秒` }
}

// Days from today (China date) to an ISO date; negative when past
function daysUntil(isoDate, today = day()) {
  const a = Date.UTC(...today.split('-').map((n, i) => (i === 1 ? Number(n) - 1 : Number(n))))
  const b = Date.UTC(...isoDate.split('-').map((n, i) => (i === 1 ? Number(n) - 1 : Number(n))))
  return Math.round((b - a) / 86400000)
}

// Picks up to `count` images and uploads them; resolves [{id, path}] (failures are toasted
// by files.upload and left out).
async function pickAndUpload(count, purpose) {
  const paths = await chooseImages(count)
  const uploaded = []
  for (const path of paths) {
    try {
      const file = await files.upload(path, purpose)
      uploaded.push({ id: file.id, path })
    } catch (err) {
      break // already toasted
    }
  }
  return uploaded
}

function toast(title, icon = 'none') {
  wx.showToast({ title, icon })
}

function confirm(content, title = '提示') {
  return new Promise((resolve) => {
    wx.showModal({ title, content, success: (res) => resolve(!!(res && res.confirm)), fail: () => resolve(false) })
  })
}

module.exports = {
  LIMITS, GENDERS, QUALIFICATION_KINDS, MONTH, TIME, CERTIFICATE_NUMBER,
  fieldErrors, age, idCardError, profileErrors, profileBody, profileForm, serviceArea,
  countdown, daysUntil, pickAndUpload, toast, confirm,
}
