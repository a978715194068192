// Caregivers: the public marketplace (search, detail, reviews, reference lists) and the
// caregiver's own self-service (apply, profile, prices, availability, qualifications).
const { call } = require('./request')

const ENDPOINTS = {
  // public, no sign-in needed
  search: ['GET', '/api/v1/caregivers'],
  detail: ['GET', '/api/v1/caregivers/{caregiver_id}'],
  reviews: ['GET', '/api/v1/caregivers/{caregiver_id}/reviews'],
  careTypes: ['GET', '/api/v1/care-types'],
  skills: ['GET', '/api/v1/caregiver-skills'],
  // the caregiver's own profile
  myProfile: ['GET', '/api/v1/caregiver/me'],
  apply: ['POST', '/api/v1/caregiver/me'],
  updateProfile: ['PATCH', '/api/v1/caregiver/me'],
  submit: ['POST', '/api/v1/caregiver/me/submit'],
  withdrawRevision: ['DELETE', '/api/v1/caregiver/me/revision'],
  prices: ['GET', '/api/v1/caregiver/me/prices'],
  setPrices: ['PUT', '/api/v1/caregiver/me/prices'],
  availability: ['GET', '/api/v1/caregiver/me/availability'],
  setWeekly: ['PUT', '/api/v1/caregiver/me/availability/weekly'],
  addException: ['POST', '/api/v1/caregiver/me/availability/exceptions'],
  removeException: ['DELETE', '/api/v1/caregiver/me/availability/exceptions/{exception_id}'],
  freeWindows: ['GET', '/api/v1/caregiver/me/availability/free'],
  qualifications: ['GET', '/api/v1/caregiver/me/qualifications'],
  addQualification: ['POST', '/api/v1/caregiver/me/qualifications'],
  qualification: ['GET', '/api/v1/caregiver/me/qualifications/{qualification_id}'],
  updateQualification: ['PATCH', '/api/v1/caregiver/me/qualifications/{qualification_id}'],
  removeQualification: ['DELETE', '/api/v1/caregiver/me/qualifications/{qualification_id}'],
}

// query: every filter of GET /api/v1/caregivers (skills: [..], care_type, sort, page, ...)
const search = (query, opts) => call(ENDPOINTS.search, { ...opts, query, auth: false })
const detail = (id, opts) =>
  call(ENDPOINTS.detail, { ...opts, params: { caregiver_id: id }, auth: false })
const reviews = (id, query, opts) =>
  call(ENDPOINTS.reviews, { ...opts, params: { caregiver_id: id }, query, auth: false })
const careTypes = (opts) => call(ENDPOINTS.careTypes, { ...opts, auth: false })
const skills = (opts) => call(ENDPOINTS.skills, { ...opts, auth: false })

// 404 means "not a caregiver yet": pass { toast: false } and branch on err.status
const myProfile = (opts) => call(ENDPOINTS.myProfile, opts)
const apply = (data, opts) => call(ENDPOINTS.apply, { ...opts, data })
const updateProfile = (data, opts) => call(ENDPOINTS.updateProfile, { ...opts, data })
const submit = (opts) => call(ENDPOINTS.submit, opts)
const withdrawRevision = (opts) => call(ENDPOINTS.withdrawRevision, opts)
const prices = (opts) => call(ENDPOINTS.prices, opts)
const setPrices = (data, opts) => call(ENDPOINTS.setPrices, { ...opts, data })
const availability = (opts) => call(ENDPOINTS.availability, opts)
const setWeekly = (data, opts) => call(ENDPOINTS.setWeekly, { ...opts, data })
const addException = (data, opts) => call(ENDPOINTS.addException, { ...opts, data })
const removeException = (id, opts) =>
  call(ENDPOINTS.removeException, { ...opts, params: { exception_id: id } })
// start, end: ISO date-times with a time zone
const freeWindows = (start, end, opts) => call(ENDPOINTS.freeWindows, { ...opts, query: { start, end } })
const qualifications = (opts) => call(ENDPOINTS.qualifications, opts)
const addQualification = (data, opts) => call(ENDPOINTS.addQualification, { ...opts, data })
const qualification = (id, opts) =>
  call(ENDPOINTS.qualification, { ...opts, params: { qualification_id: id } })
const updateQualification = (id, data, opts) =>
  call(ENDPOINTS.updateQualification, { ...opts, params: { qualification_id: id }, data })
const removeQualification = (id, opts) =>
  call(ENDPOINTS.removeQualification, { ...opts, params: { qualification_id: id } })

module.exports = {
  ENDPOINTS, search, detail, reviews, careTypes, skills,
  myProfile, apply, updateProfile, submit, withdrawRevision, prices, setPrices,
  availability, setWeekly, addException, removeException, freeWindows,
  qualifications, addQualification, qualification, updateQualification, removeQualification,
}
