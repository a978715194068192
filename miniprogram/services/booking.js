// Hospital registrations (挂号). create() answers {registration, payment, pay_params}: hand
// the result to payments.payWith() to pay.
const { call } = require('./request')

const ENDPOINTS = {
  list: ['GET', '/api/v1/registrations'],
  create: ['POST', '/api/v1/registrations'],
  detail: ['GET', '/api/v1/registrations/{registration_id}'],
  cancel: ['POST', '/api/v1/registrations/{registration_id}/cancel'],
}

// query: {status: ['booked', ...], page, page_size}
const list = (query, opts) => call(ENDPOINTS.list, { ...opts, query })
// data: {schedule_id, patient_id, points?} (points: spent as a discount; 409 points_insufficient,
// 422 points_over_limit with details.max_points)
const create = (data, opts) => call(ENDPOINTS.create, { ...opts, data })
const detail = (id, opts) => call(ENDPOINTS.detail, { ...opts, params: { registration_id: id } })
const cancel = (id, opts) => call(ENDPOINTS.cancel, { ...opts, params: { registration_id: id } })

module.exports = { ENDPOINTS, list, create, detail, cancel }
