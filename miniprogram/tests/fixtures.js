// API-shaped sample data for page and component tests (field names as in tests/openapi.json).
const hospital = (id, name, extra) => ({
  id, code: `H${id}`, name, level: '3A', level_name: '三级甲等', province_code: '440000',
  city_code: '440100', district_code: '440104', address: `越秀区中山二路${id}号`, phone: '020-12345678', ...extra,
})

const registration = (id, status, extra) => ({
  id, order_no: `R2026010500${id}`, status, status_name: { pending_payment: '待支付', booked: '已预约', cancelled: '已取消' }[status] || status,
  hospital: { id: 1, name: '市第一人民医院' }, department: { id: 2, name: '心内科' },
  doctor: { id: 3, name: '王医生', title: '主任医师' }, visit_date: '2026-01-05', period: 'morning',
  period_name: '上午', patient_id: 5, patient_name: '张*', fee_fen: 5000, ...extra,
})

const careOrder = (id, status, extra) => ({
  id, order_no: `C2026010500${id}`, status, status_name: status, care_type: 'full_day',
  care_type_name: '全天陪护', hospital: { id: 1, name: '市第一人民医院' }, department: '骨科',
  start: '2026-01-05T00:00:00+00:00', end: '2026-01-06T00:00:00+00:00', patient_name: '李*',
  caregiver: { id: 9, name: '赵阿姨', photo_url: null }, price: { total_fen: 28000 }, ...extra,
})

const notification = (id, kind, refType, refId, read) => ({
  id, kind, title: `消息${id}`, body: `消息${id}的内容`, ref_type: refType, ref_id: refId,
  created_at: '2026-01-05T01:00:00+00:00', read_at: read ? '2026-01-05T02:00:00+00:00' : null,
})

const payParams = {
  timeStamp: '1767571200', nonceStr: 'n0nce', package: 'prepay_id=wx2026', signType: 'RSA', paySign: 'c2lnbg==',
}

const payment = (id, status, extra) => ({
  id, status, order_type: 'registration', order_id: 42, amount_fen: 5000, refunded_fen: 0,
  out_trade_no: `P${id}`, expires_at: '2026-01-05T01:15:00+00:00', paid_at: null, closed_at: null, ...extra,
})

const page = (items, total) => ({ items, total: total === undefined ? items.length : total, page: 1, page_size: 20 })

module.exports = { hospital, registration, careOrder, notification, payParams, payment, page }
