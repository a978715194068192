// The hospital catalogue (public): list, detail, department calendar and day schedules.
const { call } = require('./request')

const ENDPOINTS = {
  list: ['GET', '/api/v1/hospitals'],
  detail: ['GET', '/api/v1/hospitals/{hospital_id}'],
  calendar: ['GET', '/api/v1/hospitals/{hospital_id}/departments/{department_id}/calendar'],
  schedules: ['GET', '/api/v1/hospitals/{hospital_id}/departments/{department_id}/schedules'],
  doctor: ['GET', '/api/v1/doctors/{doctor_id}'],
}

// query: {keyword, level, region, page, page_size}
const list = (query, opts) => call(ENDPOINTS.list, { ...opts, query, auth: false })
const detail = (hospitalId, opts) =>
  call(ENDPOINTS.detail, { ...opts, params: { hospital_id: hospitalId }, auth: false })
const calendar = (hospitalId, departmentId, opts) => call(ENDPOINTS.calendar, {
  ...opts, params: { hospital_id: hospitalId, department_id: departmentId }, auth: false })
// date: 'YYYY-MM-DD'
const schedules = (hospitalId, departmentId, date, opts) => call(ENDPOINTS.schedules, {
  ...opts, params: { hospital_id: hospitalId, department_id: departmentId }, query: { date }, auth: false })
const doctor = (doctorId, opts) =>
  call(ENDPOINTS.doctor, { ...opts, params: { doctor_id: doctorId }, auth: false })

module.exports = { ENDPOINTS, list, detail, calendar, schedules, doctor }
