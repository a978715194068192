// Hospital booking pages (packages/booking): hospitals → hospital → department → confirm →
// registration, the registrations list, and the waitlist (候补) with its way in from confirm.
const { respond } = require('../helpers/wx')
const { usePageTest } = require('../helpers/page-test')
const F = require('../fixtures/booking')

let env
let load
usePageTest((installed) => { ({ env, load } = installed) })

const event = (dataset, detail) => ({ currentTarget: { dataset }, detail: detail || {} })
const inDays = (days) => new Date(Date.now() + days * 86400 * 1000).toISOString()

// wx.showModal that records its options and answers confirm (or cancel)
function recordModals(confirm = true) {
  const modals = []
  jest.spyOn(wx, 'showModal').mockImplementation((options) => {
    modals.push(options)
    setTimeout(() => options.success && options.success({ confirm, cancel: !confirm }), 0)
  })
  return modals
}

describe('选择医院 packages/booking/hospitals', () => {
  const PAGE = 'packages/booking/hospitals/index'

  test('lists hospitals for the keyword from the home page, public (no token)', async () => {
    env.backend.on('GET /api/v1/hospitals', F.page([F.hospital(1, '市第一人民医院'), F.hospital(2, '省人民医院')]))
    const page = await load.loadPage(PAGE, { keyword: '人民' })
    expect(env.backend.calls[0].query).toEqual({ keyword: '人民', page: '1', page_size: '20' })
    expect(env.backend.calls[0].header.Authorization).toBeUndefined()
    expect(load.texts(page, '.cell-title')).toEqual(['市第一人民医院', '省人民医院'])
    expect(load.texts(page, '.level')).toEqual(['三级甲等', '三级甲等'])
    expect(load.text(page, '.count')).toBe('共 2 家医院')

    await load.tap(page, '.hospital')
    expect(env.navigations).toEqual(['/packages/booking/hospital/index?id=1'])
  })

  test('level and region filters and the keyword search send their query', async () => {
    env.backend.on('GET /api/v1/hospitals', F.page([F.hospital(1, '市第一人民医院')]))
    const page = await load.loadPage(PAGE)
    expect(env.backend.calls[0].query).toEqual({ page: '1', page_size: '20' })

    await page.instance.onLevel({ detail: { value: '1' } }) // 三级甲等
    expect(env.backend.calls[1].query).toEqual({ level: '3A', page: '1', page_size: '20' })
    expect(load.text(page, '.filter-label')).toBe('三级甲等 ▾')

    await page.instance.onRegion({ detail: { value: ['广东省', '广州市', '全部'], code: ['440000', '440100', ''] } })
    expect(env.backend.calls[2].query).toEqual({ level: '3A', region: '440100', page: '1', page_size: '20' })
    expect(load.texts(page, '.filter-label')[1]).toBe('广州市 ▾')

    page.instance.onKeyword({ detail: { value: ' 第一 ' } })
    await load.tap(page, '.search-btn')
    expect(env.backend.calls[3].query).toEqual({ keyword: '第一', level: '3A', region: '440100', page: '1', page_size: '20' })

    await load.tap(page, '.filter-clear')
    expect(env.backend.calls[4].query).toEqual({ keyword: '第一', level: '3A', page: '1', page_size: '20' })
  })

  test('onReachBottom loads the next page and appends it, until all are shown', async () => {
    const first = Array.from({ length: 20 }, (_, i) => F.hospital(i + 1, `医院${i + 1}`))
    env.backend.on('GET /api/v1/hospitals', (req) => (req.query.page === '1'
      ? { ...F.page(first, 21) } : { ...F.page([F.hospital(21, '医院21')], 21), page: 2 }))
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.more')).toBe('上拉加载更多')
    await page.instance.onReachBottom()
    await load.flush()
    expect(env.backend.calls[1].query).toEqual({ page: '2', page_size: '20' })
    expect(load.queryAll(page, '.hospital')).toHaveLength(21)
    expect(load.text(page, '.more')).toBe('没有更多了')
    expect(page.instance.onReachBottom()).toBeNull() // nothing more to ask for
    expect(env.backend.calls).toHaveLength(2)
  })

  test('no result shows the empty state; an error the error state with 重试', async () => {
    env.backend.on('GET /api/v1/hospitals', F.page([]))
    const page = await load.loadPage(PAGE, { keyword: '不存在' })
    expect(load.text(page, '.message')).toBe('没有符合条件的医院')
    env.backend.on('GET /api/v1/hospitals', respond(422, { code: 'validation_error', message: '参数错误' }))
    await page.instance.onSearch()
    expect(load.text(page, '.message')).toBe('参数错误')
    expect(env.toasts).toEqual([])
  })
})

describe('医院详情 packages/booking/hospital', () => {
  const PAGE = 'packages/booking/hospital/index'

  test('shows the notice, the booking rules and the departments; a department opens its calendar', async () => {
    env.backend.on('GET /api/v1/hospitals/{hospital_id}', F.hospitalDetail(1))
    const page = await load.loadPage(PAGE, { id: '1' })
    expect(env.backend.calls[0].path).toBe('/api/v1/hospitals/1')
    expect(load.text(page, '.name')).toBe('市第一人民医院')
    expect(load.text(page, '.notice')).toBe('请携带身份证原件就诊。')
    expect(load.texts(page, '.rule')).toEqual([
      '每日 08:00 放号,可预约未来 7 天的号源',
      '就诊前一日 15:00 停止预约',
      '就诊前 1 日 17:00 前可取消预约,已支付的全额退款;逾期不可取消',
      '未在规定时间内支付的订单自动取消,号源退回',
    ])
    expect(load.texts(page, '.group')).toEqual(['内科', '急诊科'])
    expect(load.texts(page, '.department-name')).toEqual(['心内科', '消化内科'])

    load.queryAll(page, '.group')[1].dispatchEvent('tap') // a first level without children
    await load.flush()
    expect(load.texts(page, '.department-name')).toEqual(['急诊科'])
    load.queryAll(page, '.group')[0].dispatchEvent('tap')
    await load.flush()
    await load.tap(page, '.department')
    expect(env.navigations).toEqual([
      '/packages/booking/department/index?hospital_id=1&department_id=2&name=%E5%BF%83%E5%86%85%E7%A7%91'])
  })

  test('an unknown hospital shows the server message', async () => {
    env.backend.on('GET /api/v1/hospitals/{hospital_id}', respond(404, { code: 'hospital_not_found', message: '医院不存在' }))
    const page = await load.loadPage(PAGE, { id: '99' })
    expect(load.text(page, '.message')).toBe('医院不存在')
  })
})

describe('科室排班 packages/booking/department', () => {
  const PAGE = 'packages/booking/department/index'
  const QUERY = { hospital_id: '1', department_id: '2', name: '心内科' }

  beforeEach(() => {
    env.backend.on('GET /api/v1/hospitals/{hospital_id}/departments/{department_id}/calendar', F.calendar())
    env.backend.on('GET /api/v1/hospitals/{hospital_id}/departments/{department_id}/schedules', (req) => F.daySchedules(req.query.date, [
      F.schedule(3, '王医生'),
      F.schedule(4, '李医生', { available: 0, bookable: false, period: 'afternoon', period_name: '下午', start_time: '13:30', end_time: '17:00', fee_fen: 2500 }),
      F.schedule(5, '赵医生', { status: 'stopped', bookable: false, stop_reason: '外出会诊' }),
    ]))
  })

  test('a 7-day strip with remaining counts; the first open day’s doctors with title, fee and remaining', async () => {
    const page = await load.loadPage(PAGE, QUERY)
    const calls = env.backend.calls.map((c) => c.path)
    expect(calls).toEqual(['/api/v1/hospitals/1/departments/2/calendar', '/api/v1/hospitals/1/departments/2/schedules'])
    expect(env.backend.calls[1].query).toEqual({ date: '2026-01-05' })
    expect(load.texts(page, '.remaining').slice(0, 7)).toEqual(['余12', '约满', '停诊', '无号', '余8', '余7', '余6'])
    expect(load.queryAll(page, '.cell')).toHaveLength(7)
    expect(load.texts(page, '.doctor-name')).toEqual(['王医生', '李医生', '赵医生'])
    expect(load.texts(page, '.doctor-title')).toEqual(['主任医师', '主任医师', '主任医师'])
    expect(load.texts(page, '.fee')).toEqual(['¥50.00', '¥25.00', '¥50.00'])
    expect(load.texts(page, '.doctor-remaining')).toEqual(['余8', '约满', '停诊'])
    expect(load.text(page, '.stop-reason')).toBe('停诊原因:外出会诊')
    expect(load.texts(page, '.time')[1]).toBe('下午 13:30-17:00')
  })

  test('a bookable doctor opens the confirmation; a stopped one does nothing', async () => {
    const page = await load.loadPage(PAGE, QUERY)
    const doctors = load.queryAll(page, '.doctor')
    doctors[2].dispatchEvent('tap')
    await load.flush()
    expect(env.navigations).toEqual([])
    doctors[0].dispatchEvent('tap')
    await load.flush()
    expect(env.navigations).toEqual([
      '/packages/booking/confirm/index?schedule_id=3&hospital_id=1&department_id=2&date=2026-01-05'])
  })

  test('a sold-out doctor on an open day says 可候补 and opens the confirmation (which offers 加入候补)', async () => {
    const page = await load.loadPage(PAGE, QUERY)
    expect(load.texts(page, '.waitlist-tag')).toEqual(['可候补']) // 李医生 only: 赵医生 is stopped
    expect(load.queryAll(page, '.doctor--off')).toHaveLength(1)
    load.queryAll(page, '.doctor')[1].dispatchEvent('tap')
    await load.flush()
    expect(env.navigations).toEqual([
      '/packages/booking/confirm/index?schedule_id=4&hospital_id=1&department_id=2&date=2026-01-05'])
  })

  test('a sold-out doctor on a day not open for booking offers no wait', async () => {
    env.backend.on('GET /api/v1/hospitals/{hospital_id}/departments/{department_id}/schedules', (req) => ({
      ...F.daySchedules(req.query.date, [F.schedule(4, '李医生', { available: 0, bookable: false })]), state: 'closed',
    }))
    const page = await load.loadPage(PAGE, QUERY)
    expect(load.query(page, '.waitlist-tag')).toBeNull()
    await load.tap(page, '.doctor')
    expect(env.navigations).toEqual([])
  })

  test('another day in the strip loads its doctors; 下一周 shows the next days', async () => {
    const page = await load.loadPage(PAGE, QUERY)
    load.queryAll(page, '.cell')[4].dispatchEvent('tap') // 2026-01-09
    await load.flush()
    expect(env.backend.calls[2].query).toEqual({ date: '2026-01-09' })
    expect(load.text(page, '.section-title')).toBe('2026-01-09 出诊医生')

    load.queryAll(page, '.cell')[3].dispatchEvent('tap') // 无号: cannot be chosen
    await load.flush()
    expect(env.backend.calls).toHaveLength(3)

    await load.tap(page, '.next-week')
    expect(load.texts(page, '.remaining').slice(0, 1)).toEqual(['未放号'])
  })

  test('a day not released yet says when it opens', async () => {
    env.backend.on('GET /api/v1/hospitals/{hospital_id}/departments/{department_id}/schedules', (req) => ({
      ...F.daySchedules(req.query.date, [F.schedule(3, '王医生', { bookable: false })]), state: 'not_released',
    }))
    const page = await load.loadPage(PAGE, QUERY)
    expect(load.text(page, '.window-hint')).toBe('该日号源将于 2025-12-29 08:00 放出')
  })
})

describe('确认挂号 packages/booking/confirm', () => {
  const PAGE = 'packages/booking/confirm/index'
  const QUERY = { schedule_id: '3', hospital_id: '1', department_id: '2', date: '2026-01-05' }

  beforeEach(() => {
    require('../../services/payments').POLL.interval = 0
    env.backend.on('GET /api/v1/hospitals/{hospital_id}', F.hospitalDetail(1))
    env.backend.on('GET /api/v1/hospitals/{hospital_id}/departments/{department_id}/schedules',
      F.daySchedules('2026-01-05', [F.schedule(3, '王医生')]))
    env.backend.on('GET /api/v1/patients', F.page([F.patient(5, '张*'), F.patient(6, '李*')]))
    env.backend.on('GET /api/v1/me/points', F.myPoints(0))
    env.backend.on('GET /api/v1/subscriptions', { items: F.templates })
    env.backend.on('POST /api/v1/subscriptions', { items: F.templates })
  })

  const booked = () => ({
    registration: F.registration(42, 'pending_payment'), payment: F.payment(7, 'created'), pay_params: F.payParams,
  })

  test('shows the schedule, fee, patients and the cancel rule', async () => {
    const page = await load.loadPage(PAGE, QUERY)
    expect(load.text(page, '.hospital-name')).toBe('市第一人民医院')
    expect(load.text(page, '.doctor')).toBe('王医生 主任医师')
    expect(load.text(page, '.visit-time')).toBe('2026-01-05 上午 08:00-12:00')
    expect(load.text(page, '.fee')).toBe('¥50.00')
    expect(load.texts(page, '.patient-name')).toEqual(['张*', '李*'])
    expect(load.queryAll(page, '.patient--active')).toHaveLength(1)
    expect(load.text(page, '.cancel-rule')).toBe('2026-01-04 17:00 前可取消预约,已支付的全额退款;逾期不可取消')
  })

  test('books: subscribe prompt, create, prepay params → wx.requestPayment, poll until paid, open the registration', async () => {
    env.backend.on('POST /api/v1/registrations', respond(201, booked()))
    let polls = 0
    env.backend.on('GET /api/v1/payments/{payment_id}', () => {
      polls += 1
      return F.payment(7, polls < 3 ? 'created' : 'paid')
    })
    const page = await load.loadPage(PAGE, QUERY)
    load.queryAll(page, '.patient')[1].dispatchEvent('tap')
    await load.flush()
    await load.tap(page, '.submit')
    await load.flush(10)

    const order = env.backend.calls.map((c) => `${c.method} ${c.path}`)
    const at = (route) => order.indexOf(route)
    expect(at('GET /api/v1/subscriptions')).toBeLessThan(at('POST /api/v1/registrations'))
    expect(env.backend.callsTo('POST /api/v1/subscriptions')[0].data).toEqual({
      results: [{ template_id: 'TMPL_REGISTRATION_STATUS', result: 'accept' }] })
    expect(env.backend.callsTo('POST /api/v1/registrations')[0].data).toEqual({ schedule_id: 3, patient_id: 6 })
    expect(env.payments).toHaveLength(1)
    expect(env.payments[0]).toMatchObject(F.payParams)
    expect(env.backend.callsTo('GET /api/v1/payments/{payment_id}')[0].path).toBe('/api/v1/payments/7')
    expect(polls).toBe(3)
    expect(env.toasts).toEqual(['预约成功'])
    expect(env.navigations).toEqual(['/packages/booking/registration/index?id=42'])
  })

  test('in WeChat DevTools (develop) it pays through the backend simulator instead of wx.requestPayment', async () => {
    wx.getDeviceInfo = () => ({ platform: 'devtools' })
    env.backend.on('POST /api/v1/registrations', respond(201, booked()))
    env.backend.on('POST /_sim/pay', { ok: true })
    env.backend.on('GET /api/v1/payments/{payment_id}', F.payment(7, 'paid'))
    const page = await load.loadPage(PAGE, QUERY)
    await load.tap(page, '.submit')
    await load.flush(10)
    expect(env.payments).toEqual([])
    expect(env.backend.callsTo('POST /_sim/pay')[0].data).toEqual({ package: F.payParams.package })
    expect(env.navigations).toEqual(['/packages/booking/registration/index?id=42'])
  })

  test('a cancelled payment still leads to the registration, which waits for payment', async () => {
    env.paymentResult = 'cancel'
    env.backend.on('POST /api/v1/registrations', respond(201, booked()))
    const page = await load.loadPage(PAGE, QUERY)
    await load.tap(page, '.submit')
    await load.flush(10)
    expect(env.toasts).toEqual(['已取消支付'])
    expect(env.backend.callsTo('GET /api/v1/payments/{payment_id}')).toHaveLength(0)
    expect(env.navigations).toEqual(['/packages/booking/registration/index?id=42'])
  })

  test('sold out: the message, the schedule marked full, the button goes back to choose another', async () => {
    env.backend.on('POST /api/v1/registrations', respond(409, { code: 'slot_sold_out', message: '号源已约满' }))
    const page = await load.loadPage(PAGE, QUERY)
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['号源已约满'])
    expect(load.text(page, '.notice')).toBe('号源已约满,请返回选择其他号源')
    expect(load.text(page, '.remaining')).toBe('约满')
    expect(load.text(page, '.submit')).toBe('重新选择号源')
    expect(env.payments).toEqual([])
    await load.tap(page, '.submit')
    expect(env.backend.callsTo('POST /api/v1/registrations')).toHaveLength(1)
  })

  test('daily limit: the message and a hint to choose another patient', async () => {
    env.backend.on('POST /api/v1/registrations', respond(409, { code: 'daily_limit_reached', message: '该就诊人当日预约数已达上限' }))
    const page = await load.loadPage(PAGE, QUERY)
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['该就诊人当日预约数已达上限'])
    expect(load.text(page, '.notice')).toBe('该就诊人当日预约数已达上限,请选择其他就诊人或日期')
    expect(load.text(page, '.submit')).toBe('确认并支付')
  })

  test('real name required: a modal offers the real-name page', async () => {
    const modals = recordModals(true)
    env.backend.on('POST /api/v1/registrations', respond(403, { code: 'real_name_required', message: '请先完成实名认证' }))
    const page = await load.loadPage(PAGE, QUERY)
    await load.tap(page, '.submit')
    await load.flush()
    expect(modals).toHaveLength(1)
    expect(modals[0]).toMatchObject({ content: '请先完成实名认证', confirmText: '去认证' })
    expect(env.navigations).toEqual(['/packages/patients/real-name/index'])
    expect(env.toasts).toEqual([])
  })

  test('blocked for no-shows: a modal with the reason, nothing else', async () => {
    const modals = recordModals(true)
    env.backend.on('POST /api/v1/registrations', respond(403, { code: 'booking_blocked', message: '因多次爽约,暂停预约' }))
    const page = await load.loadPage(PAGE, QUERY)
    await load.tap(page, '.submit')
    await load.flush()
    expect(modals[0]).toMatchObject({ content: '因多次爽约,暂停预约', showCancel: false })
    expect(env.navigations).toEqual([])
    expect(load.text(page, '.notice')).toBe('因多次爽约,暂停预约')
  })

  test('no patient yet: no request, the way to add one', async () => {
    env.backend.on('GET /api/v1/patients', F.page([]))
    const page = await load.loadPage(PAGE, QUERY)
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['请选择就诊人'])
    expect(env.backend.callsTo('POST /api/v1/registrations')).toHaveLength(0)
    await load.tap(page, '.add-first')
    expect(env.navigations).toEqual(['/packages/patients/edit/index'])
  })
})

describe('我的挂号 packages/booking/registrations', () => {
  const PAGE = 'packages/booking/registrations/index'

  test('tabs from REGISTRATION_TABS filter by their statuses', async () => {
    env.backend.on('GET /api/v1/registrations', (req) => F.page(req.query.status
      ? [F.registration(3, 'visited')] : [F.registration(1, 'pending_payment'), F.registration(2, 'booked')]))
    const page = await load.loadPage(PAGE)
    expect(load.texts(page, '.tab')).toEqual(['全部', '待支付', '已预约', '已完成', '已取消'])
    expect(env.backend.calls[0].query).toEqual({ page: '1', page_size: '20' })
    expect(load.queryAll(page, '.card')).toHaveLength(2)
    expect(load.texts(page, '.action')).toEqual(['去支付']) // only the unpaid one

    load.queryAll(page, '.tab')[3].dispatchEvent('tap') // 已完成
    await load.flush()
    expect(env.backend.calls[1].query).toEqual({ status: ['visited', 'no_show'], page: '1', page_size: '20' })
    expect(load.queryAll(page, '.card')).toHaveLength(1)
  })

  test('onReachBottom asks for the next page', async () => {
    const first = Array.from({ length: 20 }, (_, i) => F.registration(i + 1, 'booked'))
    env.backend.on('GET /api/v1/registrations', (req) => (req.query.page === '1'
      ? F.page(first, 25) : F.page([F.registration(21, 'booked')], 25)))
    const page = await load.loadPage(PAGE)
    await page.instance.onReachBottom()
    expect(env.backend.calls[1].query).toEqual({ page: '2', page_size: '20' })
    expect(load.queryAll(page, '.card')).toHaveLength(21)
  })

  test('去支付 prepays and pays; a card opens the registration; empty offers 去挂号', async () => {
    require('../../services/payments').POLL.interval = 0
    env.backend.on('GET /api/v1/registrations', F.page([F.registration(42, 'pending_payment')]))
    env.backend.on('POST /api/v1/payments/prepay', { payment: F.payment(5, 'created'), pay_params: F.payParams })
    env.backend.on('GET /api/v1/payments/{payment_id}', F.payment(5, 'paid'))
    const page = await load.loadPage(PAGE)
    await load.tap(page, '.action')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/payments/prepay')[0].data).toEqual({ order_type: 'registration', order_id: 42 })
    expect(env.payments[0]).toMatchObject(F.payParams)
    expect(env.toasts).toEqual(['支付成功'])
    expect(env.backend.callsTo('GET /api/v1/registrations')).toHaveLength(2)

    await load.tap(page, '.card')
    expect(env.navigations).toEqual(['/packages/booking/registration/index?id=42'])

    env.backend.on('GET /api/v1/registrations', F.page([]))
    await page.instance.load()
    expect(load.text(page, '.message')).toBe('暂无挂号记录')
    await load.tap(page, '.action')
    expect(env.navigations.pop()).toBe('/packages/booking/hospitals/index')
  })
})

describe('挂号详情 packages/booking/registration', () => {
  const PAGE = 'packages/booking/registration/index'
  let page

  afterEach(() => { if (page) page.instance.onUnload() })

  test('pending payment: a countdown to pay_deadline and 立即支付 through prepay', async () => {
    require('../../services/payments').POLL.interval = 0
    let status = 'pending_payment'
    env.backend.on('GET /api/v1/registrations/{registration_id}', () => F.registration(42, status, {
      pay_deadline: status === 'pending_payment' ? new Date(Date.now() + 14 * 60 * 1000 + 30 * 1000).toISOString() : null,
      cancel_deadline: inDays(3), status_name: status === 'booked' ? '已预约' : '待支付', visit_number: status === 'booked' ? 12 : null,
    }))
    env.backend.on('POST /api/v1/payments/prepay', { payment: F.payment(5, 'created'), pay_params: F.payParams })
    env.backend.on('GET /api/v1/payments/{payment_id}', () => { status = 'booked'; return F.payment(5, 'paid') })
    page = await load.loadPage(PAGE, { id: '42' })
    expect(env.backend.calls[0].path).toBe('/api/v1/registrations/42')
    expect(load.text(page, '.tag')).toBe('待支付')
    expect(load.text(page, '.countdown')).toMatch(/^14:(30|29)$/)
    expect(load.text(page, '.cancel-rule')).toBe('未支付的订单可直接取消')

    await load.tap(page, '.pay')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/payments/prepay')[0].data).toEqual({ order_type: 'registration', order_id: 42 })
    expect(env.payments[0]).toMatchObject(F.payParams)
    expect(env.toasts).toEqual(['支付成功'])
    expect(load.text(page, '.tag')).toBe('已预约')
    expect(load.query(page, '.countdown')).toBeNull()
    expect(load.query(page, '.pay')).toBeNull()
    expect(load.text(page, '.number')).toBe('12')
  })

  test('booked: the cancel deadline rule, a confirm modal, then the cancel', async () => {
    const deadline = inDays(3)
    const modals = recordModals(true)
    env.backend.on('GET /api/v1/registrations/{registration_id}', F.registration(42, 'booked', { cancel_deadline: deadline }))
    env.backend.on('POST /api/v1/registrations/{registration_id}/cancel', F.registration(42, 'cancelled', {
      cancel_deadline: deadline, cancelled_at: new Date().toISOString() }))
    page = await load.loadPage(PAGE, { id: '42' })
    const { dateTime } = require('../../utils/format')
    expect(load.text(page, '.cancel-rule')).toBe(`${dateTime(deadline)} 前可取消预约,已支付的挂号费全额退回;逾期不可取消`)
    await load.tap(page, '.cancel')
    expect(modals[0].content).toBe(`取消后挂号费 ¥50.00 将原路全额退回。取消截止时间:${dateTime(deadline)}。确定取消吗?`)
    expect(env.backend.callsTo('POST /api/v1/registrations/{registration_id}/cancel')[0].path).toBe('/api/v1/registrations/42/cancel')
    expect(load.text(page, '.tag')).toBe('已取消')
    expect(load.query(page, '.cancel')).toBeNull()
    expect(env.toasts).toEqual(['已取消'])
  })

  test('declining the modal cancels nothing', async () => {
    recordModals(false)
    env.backend.on('GET /api/v1/registrations/{registration_id}', F.registration(42, 'booked', { cancel_deadline: inDays(3) }))
    page = await load.loadPage(PAGE, { id: '42' })
    await load.tap(page, '.cancel')
    expect(env.backend.callsTo('POST /api/v1/registrations/{registration_id}/cancel')).toHaveLength(0)
  })

  test('past the cancel deadline: said so, and no cancel request', async () => {
    env.backend.on('GET /api/v1/registrations/{registration_id}', F.registration(42, 'booked', { cancel_deadline: inDays(-1) }))
    page = await load.loadPage(PAGE, { id: '42' })
    expect(load.text(page, '.past-deadline')).toBe('已过取消截止时间,不可取消')
    await page.instance.onCancel()
    expect(env.toasts).toEqual(['已超过取消预约的截止时间'])
    expect(env.backend.callsTo('POST /api/v1/registrations/{registration_id}/cancel')).toHaveLength(0)
  })

  test('the server refusing the cancel shows its message and reloads', async () => {
    recordModals(true)
    env.backend.on('GET /api/v1/registrations/{registration_id}', F.registration(42, 'booked', { cancel_deadline: inDays(1) }))
    env.backend.on('POST /api/v1/registrations/{registration_id}/cancel',
      respond(409, { code: 'cancel_deadline_passed', message: '已超过取消预约的截止时间' }))
    page = await load.loadPage(PAGE, { id: '42' })
    await load.tap(page, '.cancel')
    expect(env.toasts).toEqual(['已超过取消预约的截止时间'])
    expect(env.backend.callsTo('GET /api/v1/registrations/{registration_id}')).toHaveLength(2)
  })

  test('a pay deadline already past: says so, asks the server only once', async () => {
    env.backend.on('GET /api/v1/registrations/{registration_id}', F.registration(42, 'pending_payment', {
      pay_deadline: new Date(Date.now() - 1000).toISOString(), cancel_deadline: inDays(3) }))
    page = await load.loadPage(PAGE, { id: '42' })
    await load.flush(10)
    expect(load.text(page, '.expired')).toBe('支付已超时,订单即将自动取消')
    expect(env.backend.calls).toHaveLength(1)
  })

  test('an unknown registration shows the error state', async () => {
    env.backend.on('GET /api/v1/registrations/{registration_id}', respond(404, { code: 'registration_not_found', message: '挂号订单不存在' }))
    page = await load.loadPage(PAGE, { id: '9' })
    expect(load.text(page, '.message')).toBe('挂号订单不存在')
  })
})

describe('确认挂号: 积分抵扣, booking caps, 加入候补', () => {
  const PAGE = 'packages/booking/confirm/index'
  const QUERY = { schedule_id: '3', hospital_id: '1', department_id: '2', date: '2026-01-05' }
  const FULL_QUERY = { ...QUERY, schedule_id: '4' }

  beforeEach(() => {
    require('../../services/payments').POLL.interval = 0
    env.backend.on('GET /api/v1/hospitals/{hospital_id}', F.hospitalDetail(1))
    env.backend.on('GET /api/v1/hospitals/{hospital_id}/departments/{department_id}/schedules',
      F.daySchedules('2026-01-05', [F.schedule(3, '王医生'), F.schedule(4, '李医生', { available: 0, bookable: false })]))
    env.backend.on('GET /api/v1/patients', F.page([F.patient(5, '张*'), F.patient(6, '李*')]))
    env.backend.on('GET /api/v1/me/points', F.myPoints(1500))
    env.backend.on('GET /api/v1/subscriptions', { items: [
      { ...F.templates[0], events: [...F.templates[0].events, 'waitlist_offered'] },
      { template_id: 'TMPL_WAITLIST', title: '候补结果通知', events: ['waitlist_ended'], remaining: 0 }] })
    env.backend.on('POST /api/v1/subscriptions', { items: [] })
  })

  const booked = (extra) => ({
    registration: F.registration(42, 'pending_payment', extra), payment: F.payment(7, 'created'), pay_params: F.payParams,
  })
  const typePoints = async (page, value) => {
    page.instance.onPointsInput({ detail: { value } })
    await load.flush()
  }

  test('shows the balance; the points typed are sent with the booking', async () => {
    env.backend.on('POST /api/v1/registrations', respond(201, booked({ points_used: 500, points_discount_fen: 500 })))
    env.backend.on('GET /api/v1/payments/{payment_id}', F.payment(7, 'paid'))
    const page = await load.loadPage(PAGE, QUERY)
    expect(env.backend.callsTo('GET /api/v1/me/points')[0].query).toEqual({ page: '1', page_size: '1' })
    expect(load.text(page, '.points-balance')).toBe('可用 1500 积分')
    expect(load.query(page, '.points-input')).toBeTruthy()
    await typePoints(page, ' 500 ')
    await load.tap(page, '.submit')
    await load.flush(10)
    expect(env.backend.callsTo('POST /api/v1/registrations')[0].data).toEqual({ schedule_id: 3, patient_id: 5, points: 500 })
    expect(env.navigations).toEqual(['/packages/booking/registration/index?id=42'])
  })

  test('no points typed: no points in the body; a zero balance offers no field', async () => {
    env.backend.on('GET /api/v1/me/points', F.myPoints(0))
    env.backend.on('POST /api/v1/registrations', respond(201, booked()))
    env.paymentResult = 'cancel'
    const page = await load.loadPage(PAGE, QUERY)
    expect(load.query(page, '.points-input')).toBeNull()
    expect(load.text(page, '.no-points')).toBe('暂无可用积分')
    await load.tap(page, '.submit')
    await load.flush(10)
    expect(env.backend.callsTo('POST /api/v1/registrations')[0].data).toEqual({ schedule_id: 3, patient_id: 5 })
  })

  test('the points failing to load hide the field; booking still works', async () => {
    env.backend.on('GET /api/v1/me/points', respond(500, { code: 'internal_error', message: '服务异常' }))
    const page = await load.loadPage(PAGE, QUERY)
    expect(load.query(page, '.points-card')).toBeNull()
    expect(load.text(page, '.doctor')).toBe('王医生 主任医师')
    expect(env.toasts).toEqual([])
  })

  test('more than the balance or not a whole number: the field says so, nothing is sent', async () => {
    const page = await load.loadPage(PAGE, QUERY)
    await typePoints(page, '2000')
    await load.tap(page, '.submit')
    expect(load.text(page, '.points-error')).toBe('可用积分不足(可用 1500 积分)')
    await typePoints(page, '1.5')
    await load.tap(page, '.submit')
    expect(load.text(page, '.points-error')).toBe('请输入整数积分')
    expect(env.backend.callsTo('POST /api/v1/registrations')).toHaveLength(0)
  })

  test('points_over_limit: the server’s max under the field, one tap puts it in', async () => {
    env.backend.on('POST /api/v1/registrations', respond(422, {
      code: 'points_over_limit', message: '使用的积分超过本单可抵扣的上限', details: { max_points: 1000, points: 1200 } }))
    const page = await load.loadPage(PAGE, QUERY)
    await typePoints(page, '1200')
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['使用的积分超过本单可抵扣的上限'])
    expect(load.text(page, '.points-error')).toMatch(/^本单最多可使用 1000 积分/)
    expect(load.text(page, '.submit')).toBe('确认并支付')
    await load.tap(page, '.use-max')
    expect(page.instance.data.pointsInput).toBe('1000')
    expect(load.query(page, '.points-error')).toBeNull()
  })

  test('points_insufficient: the message under the field and the balance asked again', async () => {
    env.backend.on('POST /api/v1/registrations', respond(409, { code: 'points_insufficient', message: '积分余额不足' }))
    const page = await load.loadPage(PAGE, QUERY)
    await typePoints(page, '1500')
    env.backend.on('GET /api/v1/me/points', F.myPoints(300))
    await load.tap(page, '.submit')
    expect(load.text(page, '.points-error')).toBe('积分余额不足')
    expect(load.text(page, '.points-balance')).toBe('可用 300 积分')
  })

  test.each([
    [409, 'booking_limit_reached', '您近期预约过于频繁,请明天再试'],
    [429, 'booking_attempts_limited', '操作过于频繁,请稍后再试'],
  ])('%s %s: the server’s message as toast and notice; the button stays', async (status, code, message) => {
    env.backend.on('POST /api/v1/registrations', respond(status, { code, message }))
    const page = await load.loadPage(PAGE, QUERY)
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual([message])
    expect(load.text(page, '.notice')).toBe(message)
    expect(load.text(page, '.submit')).toBe('确认并支付')
  })

  test('not_released with opens_at (early access): when to come back, the schedule kept', async () => {
    env.backend.on('POST /api/v1/registrations', respond(409, { code: 'not_released',
      message: '号源将于 2026-01-05T08:00:00+08:00 放出(白银会员可于 2026-01-05T07:30:00+08:00 起预约)',
      details: { release_at: '2026-01-05T08:00:00+08:00', opens_at: '2026-01-05T07:30:00+08:00' } }))
    const page = await load.loadPage(PAGE, QUERY)
    await load.tap(page, '.submit')
    expect(load.text(page, '.notice')).toMatch(/请于 2026-01-05 07:30 后再预约$/)
    expect(load.text(page, '.submit')).toBe('确认并支付')
  })

  test('a sold-out schedule: 加入候补 for the chosen patient (subscribe first), then 我的候补', async () => {
    env.backend.on('POST /api/v1/waitlist', respond(201, F.waitlistEntry(8, 'waiting', { patient_id: 6 })))
    const page = await load.loadPage(PAGE, FULL_QUERY)
    expect(load.text(page, '.remaining')).toBe('约满')
    expect(load.text(page, '.notice')).toBe('该号源已约满,可加入候补或返回选择其他号源')
    expect(load.query(page, '.waitlist-hint')).toBeTruthy()
    expect(load.query(page, '.points-card')).toBeNull()
    load.queryAll(page, '.patient')[1].dispatchEvent('tap')
    await load.flush()
    await load.tap(page, '.join-waitlist')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/subscriptions')[0].data).toEqual({ results: [
      { template_id: 'TMPL_REGISTRATION_STATUS', result: 'accept' }, { template_id: 'TMPL_WAITLIST', result: 'accept' }] })
    expect(env.backend.callsTo('POST /api/v1/waitlist')[0].data).toEqual({ schedule_id: 4, patient_id: 6 })
    expect(env.backend.callsTo('POST /api/v1/registrations')).toHaveLength(0)
    expect(env.toasts).toEqual(['已加入候补'])
    expect(env.navigations).toEqual(['/packages/booking/waitlist/index'])
  })

  test('refused as slot_sold_out: 加入候补 appears beside 重新选择号源', async () => {
    env.backend.on('POST /api/v1/registrations', respond(409, { code: 'slot_sold_out', message: '号源已约满' }))
    const page = await load.loadPage(PAGE, QUERY)
    expect(load.query(page, '.join-waitlist')).toBeNull()
    await load.tap(page, '.submit')
    expect(load.text(page, '.submit')).toBe('重新选择号源')
    expect(load.text(page, '.join-waitlist')).toBe('加入候补')
  })

  test('already waiting: a modal leads to 我的候补', async () => {
    const modals = recordModals(true)
    env.backend.on('POST /api/v1/waitlist', respond(409, { code: 'waitlist_already_joined', message: '该就诊人已在此号源的候补中' }))
    const page = await load.loadPage(PAGE, FULL_QUERY)
    await load.tap(page, '.join-waitlist')
    await load.flush()
    expect(modals[0]).toMatchObject({ content: '该就诊人已在此号源的候补中', confirmText: '去查看' })
    expect(env.navigations).toEqual(['/packages/booking/waitlist/index'])
  })

  test('a slot came back meanwhile: the message, and the schedule loaded again to book it', async () => {
    env.backend.on('POST /api/v1/waitlist', respond(409, { code: 'waitlist_schedule_has_seats', message: '该号源尚有余号,请直接预约' }))
    const page = await load.loadPage(PAGE, FULL_QUERY)
    env.backend.on('GET /api/v1/hospitals/{hospital_id}/departments/{department_id}/schedules',
      F.daySchedules('2026-01-05', [F.schedule(4, '李医生', { available: 1 })]))
    await load.tap(page, '.join-waitlist')
    await load.flush()
    expect(env.toasts).toEqual(['该号源尚有余号,请直接预约'])
    expect(load.query(page, '.join-waitlist')).toBeNull()
    expect(load.text(page, '.submit')).toBe('确认并支付')
  })

  test('the wait limit: said above the buttons; real name required: the usual modal', async () => {
    env.backend.on('POST /api/v1/waitlist', respond(409, { code: 'waitlist_limit_reached', message: '同时候补的号源已达上限' }))
    const page = await load.loadPage(PAGE, FULL_QUERY)
    await load.tap(page, '.join-waitlist')
    expect(load.text(page, '.notice')).toBe('同时候补的号源已达上限')
    expect(env.navigations).toEqual([])

    const modals = recordModals(false)
    env.backend.on('POST /api/v1/waitlist', respond(403, { code: 'real_name_required', message: '请先完成实名认证' }))
    await load.tap(page, '.join-waitlist')
    await load.flush()
    expect(modals[0]).toMatchObject({ confirmText: '去认证' })
  })
})

describe('我的候补 packages/booking/waitlist', () => {
  const PAGE = 'packages/booking/waitlist/index'
  const deadline = '2026-01-04T10:15:00+08:00'
  const entries = () => [
    F.waitlistEntry(1, 'waiting'),
    F.waitlistEntry(2, 'offered', { registration_id: 42, pay_deadline: deadline }),
    F.waitlistEntry(3, 'booked', { booked_registration_id: 43 }),
    F.waitlistEntry(4, 'expired', { end_reason: 'stopped' }),
  ]

  test('lists my waits with status tags, the place in the queue, and an offered hold’s deadline', async () => {
    env.backend.on('GET /api/v1/waitlist', F.page(entries()))
    const page = await load.loadPage(PAGE)
    expect(env.backend.calls[0].query).toEqual({ page: '1', page_size: '20' })
    expect(load.texts(page, '.title')[0]).toBe('市第一人民医院 心内科')
    expect(load.texts(page, '.time')[0]).toBe('2026-01-05 下午 13:30-17:00')
    expect(load.texts(page, '.tag')).toEqual(['候补中', '待支付', '候补成功', '已结束'])
    expect(load.texts(page, '.note')).toEqual([
      '当前排第 2 位,有号退回时将按顺序为您保留',
      '已为您保留号源,请于 2026-01-04 10:15 前支付,逾期转给下一位',
      '候补成功,已为您预约',
      '医生停诊',
    ])
    expect(load.queryAll(page, '.leave')).toHaveLength(1)
    expect(load.queryAll(page, '.pay')).toHaveLength(1)
  })

  test('去支付 opens the held registration (its page pays); 查看挂号 the booked one', async () => {
    env.backend.on('GET /api/v1/waitlist', F.page(entries()))
    const page = await load.loadPage(PAGE)
    await load.tap(page, '.pay')
    await load.tap(page, '.view-registration')
    expect(env.navigations).toEqual([
      '/packages/booking/registration/index?id=42', '/packages/booking/registration/index?id=43'])
  })

  test('tabs filter by the waitlist statuses; the query may choose one', async () => {
    env.backend.on('GET /api/v1/waitlist', F.page([]))
    const page = await load.loadPage(PAGE, { tab: 'active' })
    expect(env.backend.calls[0].query.status).toEqual(['waiting', 'offered'])
    load.queryAll(page, '.tab')[2].dispatchEvent('tap')
    await load.flush()
    expect(env.backend.calls[1].query.status).toEqual(['booked', 'lapsed', 'left', 'expired'])
    expect(load.text(page, '.message')).toBe('暂无候补记录')
  })

  test('退出候补 asks first, then leaves and reloads; declining leaves nothing', async () => {
    let left = false
    env.backend.on('GET /api/v1/waitlist', () => F.page(left ? [F.waitlistEntry(1, 'left', { end_reason: 'left' })] : [F.waitlistEntry(1, 'waiting')]))
    env.backend.on('DELETE /api/v1/waitlist/{entry_id}', () => { left = true; return F.waitlistEntry(1, 'left', { end_reason: 'left' }) })
    let modals = recordModals(false)
    const page = await load.loadPage(PAGE)
    await load.tap(page, '.leave')
    await load.flush()
    expect(modals[0]).toMatchObject({ title: '退出候补', confirmText: '退出' })
    expect(env.backend.callsTo('DELETE /api/v1/waitlist/{entry_id}')).toHaveLength(0)

    jest.restoreAllMocks()
    modals = recordModals(true)
    await load.tap(page, '.leave')
    await load.flush()
    expect(env.backend.callsTo('DELETE /api/v1/waitlist/{entry_id}')[0].path).toBe('/api/v1/waitlist/1')
    expect(env.toasts).toEqual(['已退出候补'])
    expect(load.texts(page, '.tag')).toEqual(['已退出'])
    expect(load.texts(page, '.note')).toEqual(['您已退出候补'])
    expect(load.query(page, '.leave')).toBeNull()
  })

  test('a slot held meanwhile (waitlist_not_waiting): the server’s message, the list reloaded', async () => {
    let calls = 0
    env.backend.on('GET /api/v1/waitlist', () => {
      calls += 1
      return F.page([calls === 1 ? F.waitlistEntry(1, 'waiting')
        : F.waitlistEntry(1, 'offered', { registration_id: 42, pay_deadline: deadline })])
    })
    env.backend.on('DELETE /api/v1/waitlist/{entry_id}', respond(409, { code: 'waitlist_not_waiting', message: '已为您保留号源,请取消对应订单' }))
    recordModals(true)
    const page = await load.loadPage(PAGE)
    await load.tap(page, '.leave')
    await load.flush()
    expect(env.toasts).toEqual(['已为您保留号源,请取消对应订单'])
    expect(load.queryAll(page, '.pay')).toHaveLength(1)
  })

  test('an error shows the error state; the empty list offers 去挂号', async () => {
    env.backend.on('GET /api/v1/waitlist', respond(500, { code: 'internal_error', message: '服务异常' }))
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.message')).toBe('服务异常')
    env.backend.on('GET /api/v1/waitlist', F.page([]))
    await page.instance.retry()
    await load.flush()
    await load.tap(page, '.action')
    expect(env.navigations).toEqual(['/packages/booking/hospitals/index'])
  })
})

describe('挂号详情: 积分抵扣', () => {
  test('points spent show as a discount; the pay button asks for the rest', async () => {
    env.backend.on('GET /api/v1/registrations/{registration_id}', F.registration(42, 'pending_payment', {
      points_used: 1000, points_discount_fen: 1000, pay_deadline: inDays(1) }))
    const page = await load.loadPage('packages/booking/registration/index', { id: '42' })
    expect(load.text(page, '.points-discount')).toBe('-¥10.00(1000 积分)')
    expect(load.text(page, '.payable')).toBe('¥40.00')
    expect(load.text(page, '.pay')).toMatch(/立即支付 ¥40.00/)
  })
})
