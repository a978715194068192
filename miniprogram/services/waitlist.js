// The waitlist (候补) of sold-out schedules. A wait that gets a returned slot is "offered": the
// slot is held as an ordinary unpaid registration (registration_id, pay_deadline), paid on the
// registration page (payments.payOrder) like any other.
const { call } = require('./request')

const ENDPOINTS = {
  list: ['GET', '/api/v1/waitlist'],
  join: ['POST', '/api/v1/waitlist'],
  leave: ['DELETE', '/api/v1/waitlist/{entry_id}'],
}

// query: {status: ['waiting', ...], page, page_size}
const list = (query, opts) => call(ENDPOINTS.list, { ...opts, query })
// data: {schedule_id, patient_id} → the WaitlistEntry (201)
const join = (data, opts) => call(ENDPOINTS.join, { ...opts, data })
// only while waiting (409 waitlist_not_waiting once offered) → the WaitlistEntry
const leave = (id, opts) => call(ENDPOINTS.leave, { ...opts, params: { entry_id: id } })

module.exports = { ENDPOINTS, list, join, leave }
