// Fixture data for the page gallery (gallery/render.js): what the fake backend answers, the
// query each page is opened with, and the property sets each component is shown with.
// Shapes as in tests/openapi.json; built on tests/fixtures.js where it has the object.
// Dates are relative to today (China time) so calendars and countdowns look current.
const F = require('../tests/fixtures')

const DAY = 24 * 3600 * 1000
const pad = (n) => String(n).padStart(2, '0')
// China date of today + n days → "YYYY-MM-DD"
function day(n = 0) {
  const d = new Date(Date.now() + 8 * 3600 * 1000 + n * DAY)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}
// an instant: day(n) at hh:mm China time → ISO with +08:00
const at = (n, hhmm = '09:00') => `${day(n)}T${hhmm}:00+08:00`
// now + minutes, ISO (UTC)
const inMinutes = (m) => new Date(Date.now() + m * 60000).toISOString().replace(/\.\d+Z$/, '+00:00')
const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六']
const weekday = (n) => WEEKDAYS[new Date(`${day(n)}T12:00:00+08:00`).getUTCDay()]

// ---- hospitals, departments, schedules ---------------------------------------------------------
const HOSPITALS = [
  F.hospital(1, '市第一人民医院', { address: '越秀区中山二路1号' }),
  F.hospital(2, '省中医院', { address: '越秀区大德路111号', level: '3A', level_name: '三级甲等' }),
  F.hospital(3, '中山大学附属第三医院', { address: '天河区天河路600号' }),
  F.hospital(4, '市妇女儿童医疗中心', { address: '天河区金穗路9号', level: '3A', level_name: '三级甲等' }),
  F.hospital(5, '荔湾区人民医院', { address: '荔湾区中山八路2号', level: '2A', level_name: '二级甲等' }),
]

const dept = (id, name, intro, children) => ({ id, code: `D${id}`, name, intro: intro || null, children: children || [] })
const HOSPITAL_DETAIL = {
  ...HOSPITALS[0],
  intro: '市第一人民医院始建于1899年,是集医疗、教学、科研于一体的三级甲等综合医院。',
  notice: '就诊当日请携带身份证或医保卡,提前30分钟到门诊大厅自助机取号。发热患者请先到发热门诊就诊。',
  booking_rules: { booking_days_ahead: 7, cancel_days_before: 1, cancel_time: '18:00', release_time: '08:00', stop_time: '17:00' },
  departments: [
    dept(10, '内科', null, [dept(2, '心内科', '冠心病、高血压、心律失常'), dept(11, '消化内科', '胃肠疾病、肝病'), dept(12, '呼吸内科')]),
    dept(20, '外科', null, [dept(21, '骨科', '创伤、关节、脊柱'), dept(22, '普外科')]),
    dept(30, '妇产科', null, [dept(31, '妇科'), dept(32, '产科')]),
    dept(40, '儿科', '儿童常见病、多发病', []),
  ],
}

const CAL_STATES = ['open', 'open', 'full', 'open', 'stopped', 'open', 'not_released']
const calendar = (hospitalId, departmentId) => ({
  hospital_id: Number(hospitalId) || 1,
  department: { id: Number(departmentId) || 2, name: '心内科', parent_id: 10 },
  days: CAL_STATES.map((state, i) => ({
    date: day(i + 1), weekday: weekday(i + 1), state, total: state === 'not_released' ? 0 : 30,
    available: state === 'open' ? [12, 5, 0, 20, 0, 8, 0][i] : 0, release_at: at(i - 6, '08:00'),
  })),
})

const doctor = (id, name, title, specialty) => ({ id, name, title, specialty, avatar_url: null })
const schedule = (id, doc, period, available, fee) => ({
  id, doctor: doc, period, period_name: { morning: '上午', afternoon: '下午', evening: '晚上' }[period],
  start_time: period === 'morning' ? '08:00' : '14:00', end_time: period === 'morning' ? '12:00' : '17:30',
  fee_fen: fee, total: 20, available, bookable: available > 0, status: 'open', stop_reason: null,
  department_id: 2, department_name: '心内科',
})
const schedules = (req) => ({
  hospital_id: 1, department: { id: 2, name: '心内科', parent_id: 10 },
  date: (req && req.query && req.query.date) || day(1), weekday: weekday(1), state: 'open',
  release_at: at(-6, '08:00'), stop_at: at(1, '07:00'),
  items: [
    schedule(3, doctor(3, '王建国', '主任医师', '冠心病介入治疗'), 'morning', 6, 5000),
    schedule(4, doctor(4, '李梅', '副主任医师', '高血压、心力衰竭'), 'morning', 0, 3000),
    schedule(5, doctor(5, '陈志强', '主治医师', '心律失常'), 'afternoon', 15, 1500),
  ],
})
const DOCTOR = {
  ...doctor(3, '王建国', '主任医师', '冠心病介入治疗'), intro: '从事心血管内科临床工作30年。',
  department: { id: 2, name: '心内科', parent_id: 10 }, hospital: { id: 1, name: '市第一人民医院', level: '3A', level_name: '三级甲等' },
}

// ---- registrations ----------------------------------------------------------------------------
const registration = (id, status, extra) => F.registration(id, status, {
  status_name: { pending_payment: '待支付', booked: '已预约', visited: '已就诊', cancelled: '已取消', refunded: '已退款' }[status],
  schedule_id: 3, start_time: '08:00', end_time: '12:00', visit_date: day(1), patient_name: '张*明',
  cancel_deadline: at(0, '18:00'), created_at: inMinutes(-5), paid_at: null, pay_deadline: null,
  cancelled_at: null, closed_at: null, refunded_at: null, refunded_fen: 0, refunds: [], stop_reason: null,
  stopped_at: null, visit_number: null, visited_at: null,
  doctor: { id: 3, name: '王建国', title: '主任医师' },
  ...extra,
})
const REGISTRATIONS = [
  registration(42, 'pending_payment', { pay_deadline: inMinutes(12) }),
  registration(41, 'booked', { paid_at: inMinutes(-60), visit_number: 18, department: { id: 11, name: '消化内科' } }),
  registration(40, 'visited', { visit_date: day(-3), paid_at: at(-5), visited_at: at(-3), hospital: { id: 2, name: '省中医院' } }),
  registration(39, 'refunded', { visit_date: day(-10), refunded_fen: 5000, refunded_at: at(-11) }),
]

// ---- patients, me ------------------------------------------------------------------------------
const patient = (id, name, extra) => ({
  id, name, gender: 'male', age: 58, birthday: '1967-03-12', id_type: 'resident_id', id_number: '4401**********1234',
  phone: '138****5678', is_insured: true, medical_card_no: null, hospital_name: null, ward: null, bed_no: null,
  condition: null, contact_name: null, contact_phone: null, created_at: at(-30), updated_at: at(-30), ...extra,
})
const PATIENTS = [
  patient(5, '张*明', { condition: '高血压十年,规律服药' }),
  patient(6, '李*芳', { gender: 'female', age: 55, birthday: '1970-08-02', hospital_name: '市第一人民医院', ward: '骨科三病区', bed_no: '12床' }),
  patient(7, '张*', { gender: 'female', age: 6, birthday: '2019-05-20', is_insured: false }),
]
const ME = {
  id: 1, nickname: '张先生', avatar_url: null, gender: 'male', phone: '138****5678', phone_bound: true,
  real_name: '张*明', real_name_status: 'verified', created_at: at(-90),
}
const REAL_NAME = {
  id: 1, name: '张*明', id_type: 'resident_id', id_number: '4401**********1234', id_photo_file_id: 1,
  status: 'verified', reject_reason: null, created_at: at(-80), reviewed_at: at(-79),
}

// ---- caregivers --------------------------------------------------------------------------------
const CARE_TYPES = [
  { care_type: 'full_day', name: '全天陪护', unit: 'day', unit_name: '天', min_price_fen: 20000, max_price_fen: 40000 },
  { care_type: 'day_shift', name: '白班陪护', unit: 'shift', unit_name: '班', min_price_fen: 12000, max_price_fen: 25000 },
  { care_type: 'night_shift', name: '夜班陪护', unit: 'shift', unit_name: '班', min_price_fen: 13000, max_price_fen: 26000 },
  { care_type: 'hourly', name: '按小时陪护', unit: 'hour', unit_name: '小时', min_price_fen: 3000, max_price_fen: 8000 },
  { care_type: 'escort', name: '陪诊', unit: 'visit', unit_name: '次', min_price_fen: 10000, max_price_fen: 30000 },
]
const SKILLS = [
  { code: 'elderly', name: '老人护理' }, { code: 'post_op', name: '术后护理' }, { code: 'stroke', name: '偏瘫护理' },
  { code: 'maternal', name: '母婴护理' }, { code: 'dementia', name: '失智照护' }, { code: 'escort', name: '陪诊陪检' },
]
const BADGES = [{ kind: 'id_card', kind_name: '已实名' }, { kind: 'nursing_certificate', kind_name: '护理证' },
  { kind: 'health_certificate', kind_name: '健康证' }]
const priceRow = (care_type, price_fen) => {
  const t = CARE_TYPES.find((c) => c.care_type === care_type)
  return { care_type, name: t.name, price_fen, unit: t.unit, unit_name: t.unit_name }
}
const caregiver = (id, name, extra) => ({
  id, display_name: name, gender: 'female', age: 48, years_experience: 8, photo_url: `/api/v1/caregivers/${id}/photo`,
  city_code: '440100', district_codes: ['440104', '440106'], accepts_urgent: true, night_service: true,
  completed_orders: 126, rating_avg: 4.9, rating_count: 87, distance_km: 2.3, badges: BADGES,
  skills: SKILLS.slice(0, 3), prices: [priceRow('full_day', 28000), priceRow('day_shift', 16000), priceRow('hourly', 4500)],
  price_fen: 28000, ...extra,
})
const CAREGIVERS = [
  caregiver(9, '赵阿姨'),
  caregiver(10, '刘阿姨', { age: 52, years_experience: 12, rating_avg: 4.8, rating_count: 142, completed_orders: 210, distance_km: 4.1, photo_url: null, skills: [SKILLS[0], SKILLS[4]] }),
  caregiver(11, '王师傅', { gender: 'male', age: 45, years_experience: 5, rating_avg: 4.7, rating_count: 36, completed_orders: 58, distance_km: 6.8, badges: BADGES.slice(0, 2), skills: [SKILLS[1], SKILLS[2]], prices: [priceRow('full_day', 30000), priceRow('night_shift', 18000)], price_fen: 30000 }),
  caregiver(12, '陈姐', { age: 39, years_experience: 3, rating_avg: null, rating_count: 0, completed_orders: 4, distance_km: 9.5, badges: BADGES.slice(0, 1), skills: [SKILLS[3]], prices: [priceRow('hourly', 5000), priceRow('escort', 15000)], price_fen: 5000, photo_url: null }),
]
const reviewTag = (code, name, extra) => ({ code, name, ...extra })
const REVIEWS = [
  { id: 1, reviewer: '李**', stars: 5, care_type: 'full_day', care_type_name: '全天陪护', text: '赵阿姨非常细心,每天按时翻身擦洗,老人恢复得很好。', tags: [reviewTag('professional', '专业'), reviewTag('patient', '耐心')], created_at: at(-4), reply: '谢谢您的信任,祝老人早日康复!', replied_at: at(-3) },
  { id: 2, reviewer: '王**', stars: 5, care_type: 'day_shift', care_type_name: '白班陪护', text: '准时,有经验,沟通很顺畅。', tags: [reviewTag('punctual', '守时')], created_at: at(-12), reply: null, replied_at: null },
  { id: 3, reviewer: '陈**', stars: 4, care_type: 'hourly', care_type_name: '按小时陪护', text: null, tags: [], created_at: at(-20), reply: null, replied_at: null },
]
const CAREGIVER_DETAIL = {
  ...CAREGIVERS[0], bio: '从事医院陪护8年,擅长老人术后护理和偏瘫康复护理,持有养老护理员证书。',
  hospitals: [{ id: 1, name: '市第一人民医院' }, { id: 3, name: '中山大学附属第三医院' }],
  next_free_windows: [{ start: at(1, '08:00'), end: at(5, '20:00') }, { start: at(8, '08:00'), end: at(14, '20:00') }],
  rating: { avg: 4.9, count: 87, distribution: { 1: 0, 2: 1, 3: 2, 4: 9, 5: 75 } },
  recent_reviews: REVIEWS,
  review_tags: [reviewTag('professional', '专业', { count: 40 }), reviewTag('patient', '耐心', { count: 33 }), reviewTag('punctual', '守时', { count: 21 })],
  work_history: [{ employer: '市第一人民医院护工部', role: '护工', start: '2017-03', end: null }, { employer: '康乐养老院', role: '护理员', start: '2014-06', end: '2017-02' }],
}
const REVIEW_TAGS = [
  { code: 'punctual', name: '守时', positive: true }, { code: 'professional', name: '专业', positive: true },
  { code: 'patient', name: '耐心', positive: true }, { code: 'friendly', name: '热情', positive: true },
  { code: 'communicative', name: '沟通好', positive: true }, { code: 'clean', name: '干净整洁', positive: true },
  { code: 'late', name: '迟到', positive: false }, { code: 'careless', name: '不细心', positive: false },
  { code: 'poor_attitude', name: '态度差', positive: false },
]

// ---- care orders -------------------------------------------------------------------------------
const CARE_STATUS_NAMES = {
  pending_payment: '待支付', awaiting_acceptance: '已支付,待接单', accepted: '待服务', in_service: '服务中',
  awaiting_confirmation: '服务结束,待确认', completed: '已完成', cancelled: '已取消', disputed: '纠纷处理中',
}
const PRICE = { unit_price_fen: 28000, units: 3, base_fen: 84000, night_fen: 0, urgent_fen: 0, discount_fen: 0, total_fen: 84000 }
const careOrder = (id, status, extra) => F.careOrder(id, status, {
  status_name: CARE_STATUS_NAMES[status] || status, start: at(1, '08:00'), end: at(4, '08:00'),
  patient_name: '李*芳', department: '骨科', bed: '三病区12床', address: null, city_code: '440100',
  dispatch_mode: 'chosen', needs: '术后卧床,需协助翻身、擦洗和进食。', skills: ['post_op'], created_at: inMinutes(-90),
  paid_at: status === 'pending_payment' ? null : inMinutes(-85), accepted_at: null, started_at: null, ended_at: null,
  completed_at: null, cancelled_at: null, cancel_reason: null, acceptance_deadline: null, refunded_fen: 0,
  price: PRICE, caregiver: { id: 9, name: '赵阿姨', photo_url: null }, ...extra,
})
const CARE_ORDERS = [
  careOrder(7, 'in_service', { start: at(-1, '08:00'), end: at(2, '08:00'), accepted_at: at(-2), started_at: at(-1, '08:05') }),
  careOrder(8, 'awaiting_acceptance', { acceptance_deadline: inMinutes(25), care_type: 'day_shift', care_type_name: '白班陪护', price: { ...PRICE, unit_price_fen: 16000, units: 2, base_fen: 32000, total_fen: 32000 } }),
  careOrder(6, 'completed', { start: at(-10, '08:00'), end: at(-7, '08:00'), completed_at: at(-7, '10:00'), hospital: { id: 3, name: '中山大学附属第三医院' } }),
  careOrder(5, 'pending_payment', { care_type: 'hourly', care_type_name: '按小时陪护', price: { ...PRICE, unit_price_fen: 4500, units: 4, base_fen: 18000, total_fen: 18000 } }),
]
const timeline = (status, n, hhmm, actor, kind, note) => ({ status, status_name: CARE_STATUS_NAMES[status], at: at(n, hhmm), actor, kind, note: note || null })
const CARE_ORDER_DETAIL = {
  ...CARE_ORDERS[0],
  timeline: [
    timeline('pending_payment', -3, '20:10', 'family', 'created'),
    timeline('awaiting_acceptance', -3, '20:12', 'family', 'paid'),
    timeline('accepted', -2, '09:30', 'caregiver', 'accepted'),
    timeline('in_service', -1, '08:05', 'caregiver', 'started', '已到达病房,开始服务'),
  ],
}
const RECORDS = [
  { id: 2, recorded_at: at(0, '09:00'), condition: '精神好,体温36.6℃,血压132/85', care_given: '早餐后协助服药,下床活动10分钟', photo_urls: ['/api/v1/care-orders/7/records/2/photos/0'] },
  { id: 1, recorded_at: at(-1, '20:00'), condition: '伤口无渗血,夜间睡眠一般', care_given: '翻身4次,擦洗,更换床单', photo_urls: [] },
]
const REVIEW = {
  id: 1, order_id: 6, caregiver_id: 9, stars: 5, care_type: 'full_day', care_type_name: '全天陪护',
  text: '赵阿姨非常细心,老人恢复得很好。', tags: [reviewTag('professional', '专业'), reviewTag('patient', '耐心')],
  created_at: at(-6), reply: null, replied_at: null,
}
const QUOTE = {
  care_type: 'full_day', caregiver_id: 9, dispatch_mode: 'chosen', start: at(1, '08:00'), end: at(4, '08:00'),
  unit_price_fen: 28000, units: 3, base_fen: 84000, nights: 3, night_surcharge_fen: 0, night_fen: 0,
  urgent: false, urgent_fen: 0, discount_bp: 0, discount_fen: 0, total_fen: 84000,
}

// ---- caregiver's own side ----------------------------------------------------------------------
const CAREGIVER_ME = {
  id: 9, user_id: 1, name: '赵秀兰', gender: 'female', birth_date: '1978-04-16', phone: '139****2468', city_code: '440100',
  district_codes: ['440104', '440106'], latitude: 23.13, longitude: 113.26, years_experience: 8,
  bio: '从事医院陪护8年,擅长老人术后护理和偏瘫康复护理。', photo_file_id: 3, accepts_urgent: true, night_service: true,
  night_surcharge_fen: 3000, hospitals: [{ id: 1, name: '市第一人民医院' }], skills: SKILLS.slice(0, 3),
  prices: [priceRow('full_day', 28000), priceRow('day_shift', 16000), priceRow('hourly', 4500)].map((p) => ({ care_type: p.care_type, care_type_name: p.name, price_fen: p.price_fen, unit: p.unit })),
  work_history: [{ employer: '市第一人民医院护工部', role: '护工', start: '2017-03', end: null }],
  missing_qualifications: [], status: 'approved', status_name: '已通过', reject_reason: null, suspend_reason: null,
  suspended_by: null, review_round: 1, pending_revision: null, submitted_at: at(-60), reviewed_at: at(-59),
  approved_at: at(-59), created_at: at(-61), updated_at: at(-20),
}
const qualification = (id, kind, kindName, status, extra) => ({
  id, kind, kind_name: kindName, title: kindName, number: 'NO.2023****88', issuer: '广州市人力资源和社会保障局',
  issued_on: '2023-05-01', expires_on: '2028-04-30', expired: false, file_ids: [11], status,
  status_name: { pending: '待审核', approved: '已通过', rejected: '已驳回' }[status], reject_reason: null,
  review_round: 1, reviewed_at: status === 'pending' ? null : at(-30), created_at: at(-40), updated_at: at(-30), ...extra,
})
const QUALIFICATIONS = [
  qualification(1, 'id_card', '身份证', 'approved', { issuer: '广州市公安局越秀分局', number: '4401**********2468', expires_on: '2035-01-01' }),
  qualification(2, 'nursing_certificate', '护理证', 'approved'),
  qualification(3, 'health_certificate', '健康证', 'rejected', { reject_reason: '照片模糊,请重新上传', expires_on: day(20) }),
]
const AVAILABILITY = {
  // weekday: 0 = 周一 … 6 = 周日; Monday to Friday, and Saturday morning
  weekly: [0, 1, 2, 3, 4, 5].map((w) => ({ weekday: w, weekday_name: WEEKDAYS[(w + 1) % 7], start: '08:00', end: w === 5 ? '12:00' : '20:00' })),
  exceptions: [
    { id: 1, day: day(3), kind: 'off', kind_name: '休息', start: '00:00', end: '24:00', note: '家中有事' },
    { id: 2, day: day(6), kind: 'extra', kind_name: '加班', start: '08:00', end: '18:00', note: null },
  ],
}
const earning = (id, orderId, status, amount, extra) => ({
  id, order_id: orderId, order_no: `C2026010500${orderId}`, kind: 'completion', kind_name: '完成服务',
  care_type: 'full_day', care_type_name: '全天陪护', amount_fen: amount, commission_fen: Math.round(amount * 0.1),
  net_fen: amount - Math.round(amount * 0.1), status, status_name: status === 'settled' ? '已结算' : '待结算',
  due_at: at(7), settled_at: status === 'settled' ? at(-2) : null, created_at: at(-3), ...extra,
})
const month = (n) => day(-30 * n).slice(0, 7)
const INCOME = {
  items: [earning(1, 6, 'pending', 84000), earning(2, 4, 'settled', 32000, { care_type: 'day_shift', care_type_name: '白班陪护' }),
    earning(3, 3, 'settled', 18000, { care_type: 'hourly', care_type_name: '按小时陪护', kind: 'cancellation', kind_name: '取消补偿' })],
  total: 3, page: 1, page_size: 20,
  summary: {
    pending_net_fen: 75600, settled_net_fen: 45000,
    months: [
      { month: month(0), orders: 3, net_fen: 120600, commission_fen: 13400, settled_net_fen: 45000 },
      { month: month(1), orders: 8, net_fen: 356400, commission_fen: 39600, settled_net_fen: 356400 },
    ],
  },
}

const NOTIFICATIONS = [
  { ...F.notification(3, 'registration_booked', 'registration', 41, false), title: '挂号成功', body: `您已成功预约 市第一人民医院 消化内科 ${day(1)} 上午,请按时就诊。`, created_at: inMinutes(-30) },
  { ...F.notification(2, 'care_order_accepted', 'care_order', 7, false), title: '护工已接单', body: '赵阿姨已接单,将按约定时间到达病房。', created_at: inMinutes(-300) },
  { ...F.notification(1, 'registration_cancelled', 'registration', 39, true), title: '退款已到账', body: '您取消的挂号费 ¥50.00 已原路退回。', created_at: at(-10, '15:20') },
]

// ---- waitlist, membership, points --------------------------------------------------------------
const waitSchedule = (id, docName, n, period) => ({
  id, hospital: { id: 1, name: '市第一人民医院' }, department: { id: 2, name: '心内科' },
  doctor: { id: id + 100, name: docName }, work_date: day(n), period,
  period_name: { morning: '上午', afternoon: '下午' }[period],
  start_time: period === 'morning' ? '08:00' : '14:00', end_time: period === 'morning' ? '12:00' : '17:30', fee_fen: 3000,
})
const waitEntry = (id, status, status_name, extra) => ({
  id, status, status_name, schedule_id: 4, patient_id: 5, priority: 10, position: null,
  registration_id: null, pay_deadline: null, booked_registration_id: null, created_at: inMinutes(-600),
  offered_at: null, booked_at: null, ended_at: null, end_reason: null,
  schedule: waitSchedule(4, '李梅', 1, 'morning'), ...extra,
})
const WAITLIST = [
  waitEntry(3, 'offered', '待支付', { registration_id: 45, pay_deadline: inMinutes(25), offered_at: inMinutes(-5) }),
  waitEntry(2, 'waiting', '候补中', { position: 3, schedule_id: 8, schedule: waitSchedule(8, '王建国', 3, 'afternoon') }),
  waitEntry(1, 'expired', '已结束', { end_reason: 'stopped', ended_at: at(-2, '10:00'), schedule: waitSchedule(6, '陈志强', -2, 'morning') }),
]
const privileges = (extra) => ({
  early_access_minutes: 0, late_cancel_hours: 0, late_cancels_per_month: 0, care_discount_percent: 0,
  dispatch_priority: 0, waitlist_priority: 0, ...extra,
})
const LEVELS = [
  { code: 'normal', name: '普通会员', min_points: 0, min_spend_fen: 0, privileges: privileges() },
  { code: 'silver', name: '白银会员', min_points: 200, min_spend_fen: 100000,
    privileges: privileges({ early_access_minutes: 30, waitlist_priority: 10 }) },
  { code: 'gold', name: '黄金会员', min_points: 1000, min_spend_fen: 500000,
    privileges: privileges({ early_access_minutes: 120, late_cancel_hours: 12, late_cancels_per_month: 2,
      care_discount_percent: 5, dispatch_priority: 20, waitlist_priority: 20 }) },
]
const MEMBERSHIP = {
  level: 'silver', level_name: '白银会员', points: 360, spend_fen: 286000, window_days: 365,
  privileges: LEVELS[1].privileges, next: { level: '黄金会员', points_needed: 640, spend_fen_needed: 214000 },
  late_cancels_used: 0, levels: LEVELS,
}
const txn = (id, kind, kind_name, points, description, n) => ({
  id, kind, kind_name, points, description, order_type: 'registration', order_id: 40 + id, created_at: at(n, '10:30'),
})
const POINTS = {
  balance: 860,
  expiring_soon: [{ points: 120, expires_at: at(20, '00:00') }],
  history: F.page([
    txn(5, 'spend', '使用', -300, '挂号抵扣 市第一人民医院 心内科', -1),
    txn(4, 'earn', '获得', 100, '完成就诊 市第一人民医院 消化内科', -6),
    txn(3, 'earn', '获得', 280, '陪护订单完成 全天陪护', -20),
    txn(2, 'expire', '过期', -40, '积分过期', -40),
    txn(1, 'earn', '获得', 100, '完成就诊 省中医院 针灸科', -90),
  ]),
}

// ---- discussion board (讨论区) -------------------------------------------------------------------
const BOARD_SECTIONS = [{ code: 'experience', name: '就医经验' }, { code: 'consult', name: '健康咨询' }, { code: 'care', name: '陪护交流' }]
const boardPost = (id, section, title, body, extra) => ({
  id, section: section.code, section_name: section.name, title, excerpt: body.slice(0, 80), body,
  images: [], reply_count: 0, last_reply_at: null, author: { nickname: '小艾', avatar_url: null }, is_mine: false,
  created_at: inMinutes(-30), ...extra,
})
const BOARD_POSTS = [
  boardPost(3, BOARD_SECTIONS[0], '市一医院心内科挂号攻略', '早上 8 点放号,提前 5 分钟进小程序刷新,选好就诊人,号源很快就没了。周一上午人最多,建议约下午。', {
    reply_count: 6, author: { nickname: '心安', avatar_url: null }, images: [{ id: 31, url: '/api/v1/board/posts/3/images/31' }, { id: 32, url: '/api/v1/board/posts/3/images/32' }], created_at: inMinutes(-45) }),
  boardPost(2, BOARD_SECTIONS[1], '血压 145/95 需要马上吃药吗?', '体检发现血压偏高,平时没有不舒服,想问问大家是先调整饮食作息还是直接去看医生。', {
    reply_count: 3, author: { nickname: '老张', avatar_url: null }, created_at: inMinutes(-180) }),
  boardPost(1, BOARD_SECTIONS[2], '术后夜间陪护的一点经验', '请了两晚夜班陪护,护工每两小时帮翻身,记录尿量,家属能安心休息。建议提前沟通好需要注意的事项。', {
    reply_count: 12, author: { nickname: '小艾', avatar_url: null }, is_mine: true, created_at: at(-2, '21:10') }),
]
const BOARD_REPLIES = [
  { id: 11, post_id: 3, body: '很实用,收藏了!', author: { nickname: '路人甲', avatar_url: null }, is_mine: false, created_at: inMinutes(-40) },
  { id: 12, post_id: 3, body: '补充一下:复诊可以直接约同一位医生,记得带上次的检查报告。', author: { nickname: '王医生的患者', avatar_url: null }, is_mine: false, created_at: inMinutes(-20) },
  { id: 13, post_id: 3, body: '谢谢分享', author: { nickname: '小艾', avatar_url: null }, is_mine: true, created_at: inMinutes(-5) },
]

// ---- the backend -------------------------------------------------------------------------------
// Handlers by route; each answers the 200 body (a function gets the request).
const HANDLERS = {
  'GET /api/v1/hospitals': F.page(HOSPITALS),
  'GET /api/v1/hospitals/{hospital_id}': HOSPITAL_DETAIL,
  'GET /api/v1/hospitals/{hospital_id}/departments/{department_id}/calendar': (req) => {
    const [, , , , hid, , did] = req.path.split('/')
    return calendar(hid, did)
  },
  'GET /api/v1/hospitals/{hospital_id}/departments/{department_id}/schedules': schedules,
  'GET /api/v1/doctors/{doctor_id}': DOCTOR,
  'GET /api/v1/registrations': (req) => F.page(req.query.status
    ? REGISTRATIONS.filter((r) => r.status === req.query.status) : REGISTRATIONS),
  'GET /api/v1/registrations/{registration_id}': REGISTRATIONS[0],
  'GET /api/v1/patients': F.page(PATIENTS),
  'GET /api/v1/patients/{patient_id}': PATIENTS[0],
  'GET /api/v1/patients/{patient_id}/edit': { ...PATIENTS[0], id_number: '440104196703121234', phone: '13812345678' },
  'GET /api/v1/me': ME,
  'GET /api/v1/me/real-name': REAL_NAME,
  'GET /api/v1/me/membership': MEMBERSHIP,
  'GET /api/v1/me/points': POINTS,
  'GET /api/v1/waitlist': F.page(WAITLIST),
  'GET /api/v1/notifications': F.page(NOTIFICATIONS),
  'GET /api/v1/notifications/unread-count': { unread: 2 },
  'GET /api/v1/subscriptions': { items: [] },
  'GET /api/v1/care-types': CARE_TYPES,
  'GET /api/v1/caregiver-skills': SKILLS,
  'GET /api/v1/caregivers': F.page(CAREGIVERS),
  'GET /api/v1/caregivers/{caregiver_id}': CAREGIVER_DETAIL,
  'GET /api/v1/caregivers/{caregiver_id}/reviews': {
    ...F.page(REVIEWS),
    summary: { rating_avg: 4.9, rating_count: 87, distribution: CAREGIVER_DETAIL.rating.distribution, tags: CAREGIVER_DETAIL.review_tags },
  },
  'GET /api/v1/review-tags': REVIEW_TAGS,
  'POST /api/v1/care-orders/quote': QUOTE,
  'GET /api/v1/care-orders': (req) => F.page(req.query.status
    ? CARE_ORDERS.filter((o) => o.status === req.query.status) : CARE_ORDERS),
  'GET /api/v1/care-orders/{order_id}': CARE_ORDER_DETAIL,
  'GET /api/v1/care-orders/{order_id}/records': RECORDS,
  'GET /api/v1/care-orders/{order_id}/review': REVIEW,
  'GET /api/v1/caregiver/me': CAREGIVER_ME,
  'GET /api/v1/caregiver/me/prices': { prices: CAREGIVER_ME.prices },
  'GET /api/v1/caregiver/me/availability': AVAILABILITY,
  'GET /api/v1/caregiver/me/availability/free': { windows: CAREGIVER_DETAIL.next_free_windows },
  'GET /api/v1/caregiver/me/qualifications': F.page(QUALIFICATIONS),
  'GET /api/v1/caregiver/me/qualifications/{qualification_id}': QUALIFICATIONS[0],
  // view: inbox (offers) | schedule (accepted, in service) | history
  'GET /api/v1/caregiver/care-orders': (req) => F.page({
    inbox: [CARE_ORDERS[1], { ...CARE_ORDERS[1], id: 9, order_no: 'C202601050009', patient_name: '王*', care_type: 'night_shift', care_type_name: '夜班陪护', acceptance_deadline: inMinutes(48), hospital: { id: 2, name: '省中医院' }, department: '神经内科' }],
    schedule: [CARE_ORDERS[0], { ...CARE_ORDERS[0], id: 10, order_no: 'C202601050010', status: 'accepted', status_name: CARE_STATUS_NAMES.accepted, start: at(2, '08:00'), end: at(3, '08:00'), started_at: null }],
    history: [CARE_ORDERS[2]],
  }[req.query.view || 'inbox'] || []),
  'GET /api/v1/caregiver/care-orders/{order_id}': CARE_ORDERS[0],
  'GET /api/v1/caregiver/care-orders/{order_id}/records': RECORDS,
  'GET /api/v1/caregiver/care-orders/{order_id}/review': REVIEW,
  'GET /api/v1/caregiver/income': INCOME,
  'GET /api/v1/payments/{payment_id}': F.payment(5, 'created'),
  'GET /api/v1/board/sections': BOARD_SECTIONS,
  'GET /api/v1/board/posts': (req) => F.page(req.query.section
    ? BOARD_POSTS.filter((p) => p.section === req.query.section) : BOARD_POSTS),
  'GET /api/v1/board/posts/{post_id}': BOARD_POSTS[0],
  'GET /api/v1/board/posts/{post_id}/replies': F.page(BOARD_REPLIES),
  'GET /api/v1/board/posts/{post_id}/images/{file_id}': '',
  'GET /api/v1/board/mine': F.page(BOARD_POSTS.filter((p) => p.is_mine)),
  // pictures the pages download with the token (wx.downloadFile): the gallery shows a placeholder
  'GET /api/v1/files/{file_id}': '',
  'GET /api/v1/caregivers/{caregiver_id}/photo': '',
  'GET /api/v1/care-orders/{order_id}/records/{record_id}/photos/{index}': '',
  'GET /api/v1/caregiver/care-orders/{order_id}/records/{record_id}/photos/{index}': '',
}

// The query each page is opened with (onLoad(query)); pages not listed get DEFAULT_QUERY.
// Generous on purpose: a page reads the keys it knows.
const DEFAULT_QUERY = { id: '1' }
const QUERIES = {
  'packages/booking/hospitals/index': {},
  'packages/booking/hospital/index': { id: '1' },
  'packages/booking/department/index': { hospital_id: '1', department_id: '2', hospitalId: '1', departmentId: '2', id: '2', name: '心内科' },
  'packages/booking/confirm/index': { schedule_id: '3', scheduleId: '3', hospital_id: '1', department_id: '2', date: day(1) },
  'packages/booking/registrations/index': {},
  'packages/booking/registration/index': { id: '42' },
  'packages/booking/waitlist/index': {},
  'packages/member/membership/index': {},
  'packages/member/points/index': {},
  'packages/board/list/index': {},
  'packages/board/detail/index': { id: '3' },
  'packages/board/post/index': { section: 'experience' },
  'packages/board/mine/index': {},
  'packages/patients/list/index': {},
  'packages/patients/edit/index': { id: '5' },
  'packages/patients/real-name/index': {},
  'packages/care/search/index': { care_type: 'full_day', hospital_id: '1' },
  'packages/care/caregiver/index': { id: '9' },
  'packages/care/book/index': { caregiver_id: '9', caregiverId: '9', id: '9', care_type: 'full_day' },
  'packages/care/orders/index': {},
  'packages/care/order/index': { id: '7' },
  'packages/care/review/index': { id: '6', order_id: '6' },
  'packages/care/dispute/index': { id: '7', order_id: '7' },
  'packages/caregiver/service/index': { id: '7', order_id: '7' },
}

// Components: each shown with these property sets, one under another
const COMPONENTS = {
  'components/state-view/index': [
    { label: 'error', props: { state: 'error', text: '服务繁忙,请稍后再试' } },
    { label: 'empty + action', props: { state: 'empty', text: '还没有就诊人', actionText: '添加就诊人' } },
    { label: 'loading', props: { state: 'loading' } },
  ],
  'components/status-tag/index': [
    ...['pending_payment', 'booked', 'visited', 'no_show', 'cancelled'].map((s) => ({ label: `registration ${s}`, props: { kind: 'registration', status: s } })),
    ...['awaiting_acceptance', 'in_service', 'completed', 'disputed'].map((s) => ({ label: `care_order ${s}`, props: { kind: 'care_order', status: s } })),
  ],
  'components/order-card/index': [
    { label: 'registration, 待支付, 去支付', props: { kind: 'registration', order: REGISTRATIONS[0], actions: [{ key: 'pay', label: '去支付', primary: true }] } },
    { label: 'registration, 已预约', props: { kind: 'registration', order: REGISTRATIONS[1] } },
    { label: 'care_order, 服务中', props: { kind: 'care_order', order: CARE_ORDERS[0], actions: [{ key: 'records', label: '服务记录' }] } },
  ],
  'components/caregiver-card/index': [
    { label: 'with photo, full_day', props: { caregiver: CAREGIVERS[0], careType: 'full_day' } },
    { label: 'no photo', props: { caregiver: CAREGIVERS[1], careType: 'full_day' } },
    { label: 'no rating, no book button', props: { caregiver: CAREGIVERS[3], careType: 'hourly', showBook: false } },
  ],
  'components/calendar-strip/index': [
    { label: 'a week, day 1 selected', props: { days: calendar(1, 2).days, selected: day(1) } },
  ],
  'components/price-breakdown/index': [
    { label: 'quote with surcharges and discount', props: { price: { ...QUOTE, night_fen: 9000, urgent_fen: 5000, discount_fen: 4200, total_fen: 93800 }, unit: '天' } },
    { label: 'folded', props: { price: PRICE, unit: '天', expanded: false } },
  ],
}

// Registers HANDLERS on a tests/helpers/wx backend (they take priority over earlier routes)
function install(backend) {
  Object.keys(HANDLERS).forEach((route) => {
    const h = HANDLERS[route]
    backend.on(route, typeof h === 'function' ? h : () => JSON.parse(JSON.stringify(h)))
  })
}

module.exports = { HANDLERS, QUERIES, DEFAULT_QUERY, COMPONENTS, install, day, at, inMinutes }
