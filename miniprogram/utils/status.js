// Status names shared with the backend: the keys are the API's enum values, the labels the
// backend's own Chinese names (app/booking/models.py STATUS_NAMES, app/booking/schemas.py
// REFUND_STATUS_NAMES, app/care_orders/models.py STATUS_NAMES, app/console/orders_views.py
// PAYMENT_STATUS_NAMES, app/earnings, app/qualifications, app/caregivers, app/care_disputes).
// Prefer the `status_name` the API returns where there is one; these are for tabs and filters.
// tests/status.test.js checks the keys against the OpenAPI document's enums.
//
// Tag colours (status-tag component): orange = waiting for someone, blue = in progress,
// green = done well, grey = ended without service, red = a problem.
const COLORS = ['orange', 'blue', 'green', 'grey', 'red']

const REGISTRATION = {
  pending_payment: { label: '待支付', color: 'orange' },
  booked: { label: '已预约', color: 'blue' },
  visited: { label: '已就诊', color: 'green' },
  no_show: { label: '爽约', color: 'red' },
  closed: { label: '已关闭', color: 'grey' },
  cancelled: { label: '已取消', color: 'grey' },
  stopped: { label: '已停诊', color: 'red' },
  refunded: { label: '已退款', color: 'grey' },
}

const CARE_ORDER = {
  pending_payment: { label: '待支付', color: 'orange' },
  awaiting_acceptance: { label: '已支付,待接单', color: 'orange' },
  accepted: { label: '待服务', color: 'blue' },
  in_service: { label: '服务中', color: 'blue' },
  awaiting_confirmation: { label: '服务结束,待确认', color: 'orange' },
  completed: { label: '已完成', color: 'green' },
  closed: { label: '已关闭', color: 'grey' },
  cancelled: { label: '已取消', color: 'grey' },
  refunded: { label: '已退款', color: 'grey' },
  disputed: { label: '纠纷处理中', color: 'red' },
  resolved: { label: '纠纷已处理', color: 'grey' },
}

const PAYMENT = {
  created: { label: '待支付', color: 'orange' },
  paid: { label: '已支付', color: 'green' },
  refunding: { label: '退款中', color: 'orange' },
  refunded: { label: '已全额退款', color: 'grey' },
  partially_refunded: { label: '已部分退款', color: 'grey' },
  closed: { label: '已关闭', color: 'grey' },
}

// the user-facing wording (a failed refund is retried by staff, so the user reads "being handled")
const REFUND = {
  processing: { label: '退款中', color: 'orange' },
  succeeded: { label: '已退款', color: 'green' },
  failed: { label: '退款异常,客服处理中', color: 'red' },
}

const EARNING = {
  pending: { label: '待结算', color: 'orange' },
  settled: { label: '已结算', color: 'green' },
}

const QUALIFICATION = {
  pending: { label: '待审核', color: 'orange' },
  approved: { label: '已通过', color: 'green' },
  rejected: { label: '已驳回', color: 'red' },
}

const CAREGIVER = {
  draft: { label: '草稿', color: 'grey' },
  pending_review: { label: '待审核', color: 'orange' },
  approved: { label: '已通过', color: 'green' },
  rejected: { label: '已驳回', color: 'red' },
  suspended: { label: '已暂停接单', color: 'red' },
}

const REAL_NAME = {
  none: { label: '未认证', color: 'grey' },
  pending: { label: '审核中', color: 'orange' },
  verified: { label: '已认证', color: 'green' },
  rejected: { label: '未通过', color: 'red' },
}

const DISPUTE = {
  open: { label: '处理中', color: 'orange' },
  resolved: { label: '已处理', color: 'green' },
}

const KINDS = {
  registration: REGISTRATION,
  care_order: CARE_ORDER,
  payment: PAYMENT,
  refund: REFUND,
  earning: EARNING,
  qualification: QUALIFICATION,
  caregiver: CAREGIVER,
  real_name: REAL_NAME,
  dispute: DISPUTE,
}

// Tabs of the order lists: each tab is a set of statuses for the list's ?status= filter.
const REGISTRATION_TABS = [
  { key: 'all', label: '全部', statuses: [] },
  { key: 'unpaid', label: '待支付', statuses: ['pending_payment'] },
  { key: 'booked', label: '已预约', statuses: ['booked'] },
  { key: 'done', label: '已完成', statuses: ['visited', 'no_show'] },
  { key: 'ended', label: '已取消', statuses: ['closed', 'cancelled', 'stopped', 'refunded'] },
]

// the six groups the product names (see app/care_orders/models.py)
const CARE_ORDER_TABS = [
  { key: 'all', label: '全部', statuses: [] },
  { key: 'unpaid', label: '待支付', statuses: ['pending_payment'] },
  { key: 'paid', label: '待接单', statuses: ['awaiting_acceptance'] },
  { key: 'upcoming', label: '待服务', statuses: ['accepted'] },
  { key: 'serving', label: '服务中', statuses: ['in_service', 'awaiting_confirmation', 'disputed'] },
  { key: 'done', label: '已完成', statuses: ['completed', 'resolved'] },
  { key: 'ended', label: '已取消', statuses: ['closed', 'cancelled', 'refunded'] },
]

// statusInfo('care_order', 'in_service') → {label: '服务中', color: 'blue'}; unknown → grey
function statusInfo(kind, status) {
  const table = KINDS[kind] || {}
  return table[status] || { label: status || '', color: 'grey' }
}

module.exports = {
  COLORS, KINDS, REGISTRATION, CARE_ORDER, PAYMENT, REFUND, EARNING, QUALIFICATION, CAREGIVER,
  REAL_NAME, DISPUTE, REGISTRATION_TABS, CARE_ORDER_TABS, statusInfo,
}
