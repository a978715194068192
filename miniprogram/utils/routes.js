// Page paths in one place: pages navigate with go('careOrder', {id: 3}), never by hand-written
// URLs, so moving a page is one edit here (tests/app.test.js checks every path is in app.json).
const PAGES = {
  home: '/pages/home/index',
  orders: '/pages/orders/index',
  inbox: '/pages/inbox/index',
  me: '/pages/me/index',
  hospitals: '/packages/booking/hospitals/index',
  hospital: '/packages/booking/hospital/index',
  department: '/packages/booking/department/index',
  bookingConfirm: '/packages/booking/confirm/index',
  registrations: '/packages/booking/registrations/index',
  registration: '/packages/booking/registration/index',
  waitlist: '/packages/booking/waitlist/index',
  patients: '/packages/patients/list/index',
  patientEdit: '/packages/patients/edit/index',
  realName: '/packages/patients/real-name/index',
  careSearch: '/packages/care/search/index',
  caregiver: '/packages/care/caregiver/index',
  careBook: '/packages/care/book/index',
  careOrders: '/packages/care/orders/index',
  careOrder: '/packages/care/order/index',
  careReview: '/packages/care/review/index',
  careDispute: '/packages/care/dispute/index',
  caregiverApply: '/packages/caregiver/apply/index',
  caregiverProfile: '/packages/caregiver/profile/index',
  caregiverQualifications: '/packages/caregiver/qualifications/index',
  caregiverPrices: '/packages/caregiver/prices/index',
  caregiverAvailability: '/packages/caregiver/availability/index',
  caregiverInbox: '/packages/caregiver/inbox/index',
  caregiverService: '/packages/caregiver/service/index',
  caregiverIncome: '/packages/caregiver/income/index',
  membership: '/packages/member/membership/index',
  points: '/packages/member/points/index',
  board: '/packages/board/list/index',
  boardPost: '/packages/board/detail/index',
  boardCompose: '/packages/board/post/index',
  boardMine: '/packages/board/mine/index',
}

const TABS = ['home', 'orders', 'inbox', 'me']

function url(name, query) {
  const path = PAGES[name]
  if (!path) throw new Error(`unknown page ${name}`)
  const parts = Object.keys(query || {})
    .filter((k) => query[k] !== undefined && query[k] !== null && query[k] !== '')
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(String(query[k]))}`)
  return parts.length ? `${path}?${parts.join('&')}` : path
}

// a page's query value as url() wrote it: it may arrive still percent-encoded
function decodeQueryValue(value) {
  try {
    return decodeURIComponent(value)
  } catch (e) {
    return value
  }
}

// tab pages need switchTab (which takes no query)
function go(name, query) {
  if (TABS.includes(name)) return wx.switchTab({ url: PAGES[name] })
  return wx.navigateTo({ url: url(name, query) })
}

// Where a notification leads (by its kind, then its ref_type); null = nowhere.
const KIND_TARGETS = {
  care_order_offered: () => ['caregiverInbox'],
  care_order_reviewed: (n) => ['caregiverService', { id: n.ref_id }],
  earnings_settled: () => ['caregiverIncome'],
  qualification_approved: () => ['caregiverQualifications'],
  qualification_rejected: () => ['caregiverQualifications'],
  qualification_expiring: () => ['caregiverQualifications'],
  real_name_approved: () => ['realName'],
  real_name_rejected: () => ['realName'],
  waitlist_ended: () => ['waitlist'],
}
const REF_TARGETS = {
  registration: (n) => ['registration', { id: n.ref_id }],
  care_order: (n) => ['careOrder', { id: n.ref_id }],
  waitlist_entry: () => ['waitlist'],
}

function notificationTarget(n) {
  const target = KIND_TARGETS[n.kind] || REF_TARGETS[n.ref_type]
  return target ? target(n) : null
}

module.exports = { PAGES, TABS, url, go, decodeQueryValue, notificationTarget }
