// Care orders (陪护订单): the family's side (quote, book, list, detail, confirm, review,
// dispute, cancel) and the caregiver's side (inbox, accept/reject, start, records, end).
// book() answers {order, payment, pay_params}: hand it to payments.payWith() to pay.
const { call } = require('./request')

const ENDPOINTS = {
  // family
  quote: ['POST', '/api/v1/care-orders/quote'],
  book: ['POST', '/api/v1/care-orders'],
  list: ['GET', '/api/v1/care-orders'],
  detail: ['GET', '/api/v1/care-orders/{order_id}'],
  cancel: ['POST', '/api/v1/care-orders/{order_id}/cancel'],
  confirm: ['POST', '/api/v1/care-orders/{order_id}/confirm'],
  records: ['GET', '/api/v1/care-orders/{order_id}/records'],
  review: ['GET', '/api/v1/care-orders/{order_id}/review'],
  createReview: ['POST', '/api/v1/care-orders/{order_id}/review'],
  dispute: ['POST', '/api/v1/care-orders/{order_id}/dispute'],
  reviewTags: ['GET', '/api/v1/review-tags'],
  // caregiver
  caregiverOrders: ['GET', '/api/v1/caregiver/care-orders'],
  caregiverDetail: ['GET', '/api/v1/caregiver/care-orders/{order_id}'],
  accept: ['POST', '/api/v1/caregiver/care-orders/{order_id}/accept'],
  reject: ['POST', '/api/v1/caregiver/care-orders/{order_id}/reject'],
  start: ['POST', '/api/v1/caregiver/care-orders/{order_id}/start'],
  caregiverRecords: ['GET', '/api/v1/caregiver/care-orders/{order_id}/records'],
  addRecord: ['POST', '/api/v1/caregiver/care-orders/{order_id}/records'],
  end: ['POST', '/api/v1/caregiver/care-orders/{order_id}/end'],
  caregiverDispute: ['POST', '/api/v1/caregiver/care-orders/{order_id}/dispute'],
  caregiverReview: ['GET', '/api/v1/caregiver/care-orders/{order_id}/review'],
  replyReview: ['POST', '/api/v1/caregiver/care-orders/{order_id}/review-reply'],
}

const byId = (id) => ({ order_id: id })

// family
const quote = (data, opts) => call(ENDPOINTS.quote, { ...opts, data })
const book = (data, opts) => call(ENDPOINTS.book, { ...opts, data })
// query: {status: ['accepted', 'in_service'], page, page_size}
const list = (query, opts) => call(ENDPOINTS.list, { ...opts, query })
const detail = (id, opts) => call(ENDPOINTS.detail, { ...opts, params: byId(id) })
const cancel = (id, data, opts) => call(ENDPOINTS.cancel, { ...opts, params: byId(id), data })
const confirm = (id, opts) => call(ENDPOINTS.confirm, { ...opts, params: byId(id) })
const records = (id, opts) => call(ENDPOINTS.records, { ...opts, params: byId(id) })
const review = (id, opts) => call(ENDPOINTS.review, { ...opts, params: byId(id) })
const createReview = (id, data, opts) => call(ENDPOINTS.createReview, { ...opts, params: byId(id), data })
const dispute = (id, data, opts) => call(ENDPOINTS.dispute, { ...opts, params: byId(id), data })
const reviewTags = (opts) => call(ENDPOINTS.reviewTags, { ...opts, auth: false })

// caregiver; view: 'inbox' (waiting for acceptance, with deadlines) | 'schedule' | 'history'
const caregiverOrders = (view, query, opts) =>
  call(ENDPOINTS.caregiverOrders, { ...opts, query: { ...query, view } })
const caregiverDetail = (id, opts) => call(ENDPOINTS.caregiverDetail, { ...opts, params: byId(id) })
const accept = (id, opts) => call(ENDPOINTS.accept, { ...opts, params: byId(id) })
const reject = (id, reason, opts) =>
  call(ENDPOINTS.reject, { ...opts, params: byId(id), data: { reason } })
// location: {latitude, longitude} or {} when the caregiver declined to share it
const start = (id, location, opts) =>
  call(ENDPOINTS.start, { ...opts, params: byId(id), data: location || {} })
const caregiverRecords = (id, opts) => call(ENDPOINTS.caregiverRecords, { ...opts, params: byId(id) })
// data: {condition, care_given, photo_file_ids: [file ids from files.upload]}
const addRecord = (id, data, opts) => call(ENDPOINTS.addRecord, { ...opts, params: byId(id), data })
const end = (id, opts) => call(ENDPOINTS.end, { ...opts, params: byId(id) })
const caregiverDispute = (id, data, opts) =>
  call(ENDPOINTS.caregiverDispute, { ...opts, params: byId(id), data })
const caregiverReview = (id, opts) => call(ENDPOINTS.caregiverReview, { ...opts, params: byId(id) })
const replyReview = (id, data, opts) => call(ENDPOINTS.replyReview, { ...opts, params: byId(id), data })

module.exports = {
  ENDPOINTS, quote, book, list, detail, cancel, confirm, records, review, createReview, dispute,
  reviewTags, caregiverOrders, caregiverDetail, accept, reject, start, caregiverRecords, addRecord,
  end, caregiverDispute, caregiverReview, replyReview,
}
