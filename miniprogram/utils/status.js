// Status names shared with the backend: the keys are the API's enum values, the labels the
// backend's own Chinese names (app/booking/models.py STATUS_NAMES, app/booking/schemas.py
// REFUND_STATUS_NAMES, app/care_orders/models.py STATUS_NAMES, app/console/orders_views.py
// PAYMENT_STATUS_NAMES, app/earnings, app/qualifications, app/caregivers, app/care_disputes,
// app/waitlist/models.py STATUS_NAMES).
// Prefer the `status_name` the API returns where there is one; these are for tabs and filters.
// tests/app.test.js checks the keys against the OpenAPI document's enums.
//
// Tag colours (status-tag component): orange = waiting for someone, blue = in progress,
// green = done well, grey = ended without service, red = a problem.
const COLORS = ['orange', 'blue', 'green', 'grey', 'red']

// {status: [label, colour]} → {status: {label, color}}, in the same order
function statusTable(rows) {
  const table = {}
  Object.keys(rows).forEach((status) => {
    const [label, color] = rows[status]
    table[status] = { label, color }
  })
  return table
}

const REGISTRATION = statusTable({
  pending_payment: ['待支付', 'orange'],
  booked: ['已预约', 'blue'],
  visited: ['已就诊', 'green'],
  no_show: ['爽约', 'red'],
  closed: ['已关闭', 'grey'],
  cancelled: ['已取消', 'grey'],
  stopped: ['已停诊', 'red'],
  refunded: ['已退款', 'grey'],
})

const CARE_ORDER = statusTable({
  pending_payment: ['待支付', 'orange'],
  awaiting_acceptance: ['已支付,待接单', 'orange'],
  accepted: ['待服务', 'blue'],
  in_service: ['服务中', 'blue'],
  awaiting_confirmation: ['服务结束,待确认', 'orange'],
  completed: ['已完成', 'green'],
  closed: ['已关闭', 'grey'],
  cancelled: ['已取消', 'grey'],
  refunded: ['已退款', 'grey'],
  disputed: ['纠纷处理中', 'red'],
  resolved: ['纠纷已处理', 'grey'],
})

const PAYMENT = statusTable({
  created: ['待支付', 'orange'],
  paid: ['已支付', 'green'],
  refunding: ['退款中', 'orange'],
  refunded: ['已全额退款', 'grey'],
  partially_refunded: ['已部分退款', 'grey'],
  closed: ['已关闭', 'grey'],
})

// the user-facing wording (a failed refund is retried by staff, so the user reads "being handled")
const REFUND = statusTable({
  processing: ['退款中', 'orange'],
  succeeded: ['已退款', 'green'],
  failed: ['退款异常,客服处理中', 'red'],
})

const EARNING = statusTable({
  pending: ['待结算', 'orange'],
  settled: ['已结算', 'green'],
})

const QUALIFICATION = statusTable({
  pending: ['待审核', 'orange'],
  approved: ['已通过', 'green'],
  rejected: ['已驳回', 'red'],
})

const CAREGIVER = statusTable({
  draft: ['草稿', 'grey'],
  pending_review: ['待审核', 'orange'],
  approved: ['已通过', 'green'],
  rejected: ['已驳回', 'red'],
  suspended: ['已暂停接单', 'red'],
})

const REAL_NAME = statusTable({
  none: ['未认证', 'grey'],
  pending: ['审核中', 'orange'],
  verified: ['已认证', 'green'],
  rejected: ['未通过', 'red'],
})

const DISPUTE = statusTable({
  open: ['处理中', 'orange'],
  resolved: ['已处理', 'green'],
})

// 候补: waiting → offered (a slot held as an unpaid registration) → booked | lapsed;
// waiting → left | expired
const WAITLIST = statusTable({
  waiting: ['候补中', 'orange'],
  offered: ['待支付', 'orange'],
  booked: ['候补成功', 'green'],
  lapsed: ['未支付,已失效', 'grey'],
  left: ['已退出', 'grey'],
  expired: ['已结束', 'grey'],
})

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
  waitlist: WAITLIST,
}

// Tabs of the order lists: 全部, then one tab per set of statuses for the list's ?status= filter.
function orderTabs(rows) {
  const all = { key: 'all', label: '全部', statuses: [] }
  return [all].concat(rows.map(([key, label, statuses]) => ({ key, label, statuses })))
}

const REGISTRATION_TABS = orderTabs([
  ['unpaid', '待支付', ['pending_payment']],
  ['booked', '已预约', ['booked']],
  ['done', '已完成', ['visited', 'no_show']],
  ['ended', '已取消', ['closed', 'cancelled', 'stopped', 'refunded']],
])

// the six groups the product names (see app/care_orders/models.py)
const CARE_ORDER_TABS = orderTabs([
  ['unpaid', '待支付', ['pending_payment']],
  ['paid', '待接单', ['awaiting_acceptance']],
  ['upcoming', '待服务', ['accepted']],
  ['serving', '服务中', ['in_service', 'awaiting_confirmation', 'disputed']],
  ['done', '已完成', ['completed', 'resolved']],
  ['ended', '已取消', ['closed', 'cancelled', 'refunded']],
])

// 我的候补: the waits still running, and those that ended
const WAITLIST_TABS = orderTabs([
  ['active', '候补中', ['waiting', 'offered']],
  ['ended', '已结束', ['booked', 'lapsed', 'left', 'expired']],
])

// statusInfo('care_order', 'in_service') → {label: '服务中', color: 'blue'}; unknown → grey
function statusInfo(kind, status) {
  const table = KINDS[kind] || {}
  return table[status] || { label: status || '', color: 'grey' }
}

module.exports = {
  COLORS, KINDS, REGISTRATION, CARE_ORDER, PAYMENT, REFUND, EARNING, QUALIFICATION, CAREGIVER,
  REAL_NAME, DISPUTE, WAITLIST, REGISTRATION_TABS, CARE_ORDER_TABS, WAITLIST_TABS, statusInfo,
}
