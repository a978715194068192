// packages/care: 找护工, 护工详情, 预约陪护, 陪护订单, 订单详情, 评价, 纠纷.
const { installWx, respond } = require('../helpers/wx')
const F = require('../fixtures')
const C = require('../fixtures/care')

let env
let load
let modals

beforeEach(() => {
  jest.resetModules()
  env = installWx()
  load = require('../helpers/load')
  // record what each modal says, and answer 确定
  modals = []
  wx.showModal = (options) => {
    modals.push(options)
    setTimeout(() => options.success && options.success({ confirm: true, cancel: false }), 0)
  }
})

afterEach(() => env.backend.check())

const detail = (d) => ({ detail: d })

function catalogue() {
  env.backend.on('GET /api/v1/care-types', C.careTypes)
  env.backend.on('GET /api/v1/caregiver-skills', C.skills)
  env.backend.on('GET /api/v1/hospitals', F.page([F.hospital(1, '市第一人民医院'), F.hospital(2, '省中医院')]))
}

describe('找护工 packages/care/search', () => {
  test('lists caregivers from the API with the default sort, publicly', async () => {
    catalogue()
    env.backend.on('GET /api/v1/caregivers', F.page([C.caregiver(9, '赵阿姨'), C.caregiver(10, '钱阿姨')], 2))
    const page = await load.loadPage('packages/care/search/index')
    const call = env.backend.callsTo('GET /api/v1/caregivers')[0]
    expect(call.query).toEqual({ page: '1', page_size: '20', sort: 'rating' })
    expect(call.header.Authorization).toBeUndefined()
    expect(load.texts(page, '.name')).toEqual(['赵阿姨', '钱阿姨'])
    expect(load.texts(page, '.type')).toEqual(['全部', '全天陪护', '白班陪护', '夜班陪护', '钟点陪护', '陪诊'])
    expect(load.text(page, '.total')).toBe('共 2 位护工')
  })

  test('every filter of the panel goes into the query', async () => {
    catalogue()
    env.backend.on('GET /api/v1/caregivers', F.page([C.caregiver(9, '赵阿姨')]))
    const page = await load.loadPage('packages/care/search/index')
    load.queryAll(page, '.type')[1].dispatchEvent('tap') // 全天陪护
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/caregivers').pop().query)
      .toEqual({ page: '1', page_size: '20', sort: 'rating', care_type: 'full_day' })

    await load.tap(page, '.filter-btn')
    const p = page.instance
    const skills = load.queryAll(page, '.skill')
    skills[0].dispatchEvent('tap')
    skills[1].dispatchEvent('tap')
    await load.flush()
    p.onSkillsMatch(detail({ value: true }))
    load.queryAll(page, '.gender')[1].dispatchEvent('tap') // 女
    const input = (field, value) => p.onDraftInput({ currentTarget: { dataset: { field } }, detail: { value } })
    input('min_age', '40')
    input('max_age', '55')
    input('min_experience', '5')
    input('min_price', '150')
    input('max_price', '300.5')
    p.onRegion(detail({ code: ['440000', '440100', '440104'], value: ['广东省', '广州市', '越秀区'] }))
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/hospitals').pop().query).toEqual({ region: '440104', page: '1', page_size: '50' })
    p.onHospital(detail({ value: '1' })) // 省中医院
    p.onDate({ currentTarget: { dataset: { field: 'start_date' } }, detail: { value: '2030-01-05' } })
    p.onTime({ currentTarget: { dataset: { field: 'start_time' } }, detail: { value: '16' } }) // 08:00
    p.onDate({ currentTarget: { dataset: { field: 'end_date' } }, detail: { value: '2030-01-05' } })
    p.onTime({ currentTarget: { dataset: { field: 'end_time' } }, detail: { value: '41' } }) // 20:30
    load.queryAll(page, '.rating')[1].dispatchEvent('tap') // 4.5分以上
    p.onDraftSwitch({ currentTarget: { dataset: { field: 'accepts_urgent' } }, detail: { value: true } })
    p.onDraftSwitch({ currentTarget: { dataset: { field: 'night_service' } }, detail: { value: true } })
    await load.tap(page, '.apply')

    expect(env.backend.callsTo('GET /api/v1/caregivers').pop().query).toEqual({
      page: '1', page_size: '20', sort: 'rating', care_type: 'full_day',
      skills: ['elderly_care', 'post_surgery'], skills_match: 'all', gender: 'female',
      min_age: '40', max_age: '55', min_experience: '5', min_price_fen: '15000', max_price_fen: '30050',
      city_code: '440100', district_code: '440104', hospital_id: '2',
      start: '2030-01-05T08:00:00+08:00', end: '2030-01-05T20:30:00+08:00',
      min_rating: '4.5', accepts_urgent: 'true', night_service: 'true',
    })
    expect(load.text(page, '.filter-btn')).toBe('筛选(11)')
    expect(load.query(page, '.panel')).toBeNull()

    // price sorts need the care type that is chosen
    load.queryAll(page, '.sort')[1].dispatchEvent('tap')
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/caregivers').pop().query.sort).toBe('price_asc')
  })

  test('the panel checks the filters as the server does before searching', async () => {
    catalogue()
    env.backend.on('GET /api/v1/caregivers', F.page([]))
    const page = await load.loadPage('packages/care/search/index')
    expect(load.text(page, '.message')).toBe('暂无数据')
    await load.tap(page, '.filter-btn')
    const p = page.instance
    const input = (field, value) => p.onDraftInput({ currentTarget: { dataset: { field } }, detail: { value } })
    input('min_age', '60')
    input('max_age', '50')
    await load.tap(page, '.apply')
    expect(load.text(page, '.panel-error')).toBe('最小年龄不能大于最大年龄')
    input('max_age', '65')
    input('min_price', '100')
    await load.tap(page, '.apply')
    expect(load.text(page, '.panel-error')).toBe('按价格筛选或排序时需指定服务类型')
    input('min_price', '')
    p.onDate({ currentTarget: { dataset: { field: 'start_date' } }, detail: { value: '2030-01-05' } })
    p.onTime({ currentTarget: { dataset: { field: 'start_time' } }, detail: { value: '16' } })
    await load.tap(page, '.apply')
    expect(load.text(page, '.panel-error')).toBe('开始时间和结束时间需同时提供')
    expect(env.backend.callsTo('GET /api/v1/caregivers')).toHaveLength(1) // only the first load

    await load.tap(page, '.reset')
    await load.tap(page, '.apply')
    expect(env.backend.callsTo('GET /api/v1/caregivers')).toHaveLength(2)
    // a price sort without a care type is refused on the spot
    load.queryAll(page, '.sort')[1].dispatchEvent('tap')
    await load.flush()
    expect(env.toasts).toEqual(['按价格排序请先选择服务类型'])
    expect(env.backend.callsTo('GET /api/v1/caregivers')).toHaveLength(2)
  })

  test('距离 asks wx.getLocation and sends lat/lng; a refusal keeps the sort', async () => {
    catalogue()
    env.backend.on('GET /api/v1/caregivers', F.page([C.caregiver(9, '赵阿姨', { distance_km: 2.4 })]))
    const page = await load.loadPage('packages/care/search/index')
    wx.getLocation = (o) => setTimeout(() => o.fail({ errMsg: 'getLocation:fail auth deny' }), 0)
    await load.tap(page, '.sort--distance')
    expect(env.toasts).toEqual(['未获得位置授权,无法按距离排序'])
    expect(env.backend.callsTo('GET /api/v1/caregivers')).toHaveLength(1)

    const asked = []
    wx.getLocation = (o) => { asked.push(o.type); setTimeout(() => o.success({ latitude: 23.13, longitude: 113.26 }), 0) }
    await load.tap(page, '.sort--distance')
    expect(asked).toEqual(['gcj02'])
    expect(env.backend.callsTo('GET /api/v1/caregivers').pop().query)
      .toEqual({ page: '1', page_size: '20', sort: 'distance', lat: '23.13', lng: '113.26' })
    expect(load.text(page, '.distance')).toBe('2.4km')
  })

  test('onReachBottom loads the next page; cards open the caregiver or book', async () => {
    catalogue()
    env.backend.on('GET /api/v1/caregivers', (req) => (req.query.page === '1'
      ? F.page([C.caregiver(9, '赵阿姨')], 2) : F.page([C.caregiver(10, '钱阿姨')], 2)))
    const page = await load.loadPage('packages/care/search/index', { care_type: 'hourly' })
    expect(load.text(page, '.price')).toBe('¥50.00/小时')
    await page.instance.onReachBottom()
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/caregivers').map((c) => c.query.page)).toEqual(['1', '2'])
    expect(load.texts(page, '.name')).toEqual(['赵阿姨', '钱阿姨'])
    expect(load.text(page, '.more')).toBe('没有更多了')
    expect(page.instance.onReachBottom()).toBeNull() // nothing more to load

    await load.tap(page, '.card')
    await load.tap(page, '.book')
    expect(env.navigations).toEqual([
      '/packages/care/caregiver/index?id=9&care_type=hourly',
      '/packages/care/book/index?caregiver_id=9&care_type=hourly',
    ])
  })

  test('a server error code shows its message in the list area', async () => {
    catalogue()
    env.backend.on('GET /api/v1/caregivers', respond(422, { code: 'time_range_outside_horizon', message: '请求参数有误', details: { end: ['只能查询未来 30 天内的时段'] } }))
    const page = await load.loadPage('packages/care/search/index')
    expect(load.text(page, '.message')).toBe('只能查询未来 30 天内的时段')
    expect(env.toasts).toEqual([])
  })
})

describe('护工详情 packages/care/caregiver', () => {
  test('shows profile, badges, prices, rating distribution, reviews and free windows', async () => {
    env.backend.on('GET /api/v1/caregivers/{caregiver_id}', C.caregiverDetail(9))
    const page = await load.loadPage('packages/care/caregiver/index', { id: '9', care_type: 'hourly' })
    expect(env.backend.calls[0].header.Authorization).toBeUndefined()
    expect(load.text(page, '.name')).toBe('赵阿姨')
    expect(load.text(page, '.facts')).toBe('女 · 48岁 · 从业6年 · 服务40单')
    expect(load.texts(page, '.badge')).toEqual(['✓ 身份已认证', '✓ 护理证'])
    expect(load.texts(page, '.price-name')).toEqual(['全天陪护', '钟点陪护', '陪诊'])
    expect(load.text(page, '.price-row--on .price-name')).toBe('钟点陪护')
    expect(load.texts(page, '.bar-count')).toEqual(['20', '3', '1', '1', '0'])
    expect(load.queryAll(page, '.bar-fill')[0].dom.getAttribute('style')).toMatch(/width: ?80%/)
    expect(load.texts(page, '.review-tag')).toEqual(['耐心 12', '准时 8'])
    expect(load.texts(page, '.review-text')).toEqual(['评价内容31', '评价内容30'])
    expect(load.text(page, '.reply')).toBe('护工回复:谢谢您')
    expect(load.texts(page, '.window-text')).toEqual(['01-05 周一 08:00–20:00', '01-06 周二 08:00 – 01-07 08:00'])
    expect(page.data.view.photo).toBe('http://127.0.0.1:5000/api/v1/caregivers/9/photo')
    expect(load.query(page, '.avatar')).not.toBeNull()
  })

  test('全部评价 pages through the reviews; book and free windows open the booking page', async () => {
    env.backend.on('GET /api/v1/caregivers/{caregiver_id}', C.caregiverDetail(9))
    env.backend.on('GET /api/v1/caregivers/{caregiver_id}/reviews', (req) => (req.query.page === '1'
      ? C.reviewPage([C.publicReview(31, 5), C.publicReview(30, 4)], 3) : C.reviewPage([C.publicReview(29, 2)], 3)))
    const page = await load.loadPage('packages/care/caregiver/index', { id: '9' })
    await load.tap(page, '.all-reviews')
    expect(env.backend.callsTo('GET /api/v1/caregivers/{caregiver_id}/reviews')[0].query).toEqual({ page: '1', page_size: '10' })
    await page.instance.onReachBottom()
    await load.flush()
    expect(load.texts(page, '.review-text')).toEqual(['评价内容31', '评价内容30', '评价内容29'])
    expect(load.text(page, '.more')).toBe('没有更多了')

    load.queryAll(page, '.price-row')[2].dispatchEvent('tap') // 陪诊
    await load.flush()
    await load.tap(page, '.book')
    await load.tap(page, '.window')
    expect(env.navigations).toEqual([
      '/packages/care/book/index?caregiver_id=9&care_type=escort',
      `/packages/care/book/index?caregiver_id=9&care_type=escort&start=${encodeURIComponent('2026-01-05T00:00:00+00:00')}`,
    ])
  })

  test('an unknown caregiver shows the server message', async () => {
    env.backend.on('GET /api/v1/caregivers/{caregiver_id}', respond(404, { code: 'caregiver_not_found', message: '护工不存在' }))
    const page = await load.loadPage('packages/care/caregiver/index', { id: '99' })
    expect(load.text(page, '.message')).toBe('护工不存在')
    expect(env.toasts).toEqual([])
  })
})

describe('预约陪护 packages/care/book', () => {
  const START = '2030-01-05T08:00:00+08:00'

  function bookingBackend() {
    catalogue()
    env.backend.on('GET /api/v1/caregivers/{caregiver_id}', C.caregiverDetail(9))
    env.backend.on('GET /api/v1/patients', F.page([C.patient(5, '李大爷'), C.patient(6, '王奶奶', { gender: 'female', age: 80 })]))
    env.backend.on('POST /api/v1/care-orders/quote', (req) => C.quote({ start: req.data.start, end: req.data.end }))
    env.backend.on('GET /api/v1/subscriptions', { items: [{ template_id: 'TMPL_CARE', title: '陪护订单状态', events: ['care_order_paid', 'care_order_accepted'], remaining: 0 }] })
    env.backend.on('POST /api/v1/subscriptions', { items: [] })
  }

  async function openForm(query) {
    const page = await load.loadPage('packages/care/book/index', { caregiver_id: '9', care_type: 'full_day', start: START, hospital_id: '1', ...query })
    await load.flush()
    return page
  }

  test('quotes as the form changes and shows the breakdown', async () => {
    bookingBackend()
    const page = await openForm()
    expect(load.text(page, '.caregiver-name')).toBe('赵阿姨')
    expect(load.texts(page, '.type-name')).toEqual(['全天陪护', '钟点陪护', '陪诊'])
    expect(load.text(page, '.hospital-pick')).toBe('市第一人民医院')
    expect(env.backend.callsTo('POST /api/v1/care-orders/quote')[0].data).toEqual({
      care_type: 'full_day', start: START, end: '2030-01-06T08:00:00+08:00', patient_id: 5, caregiver_id: 9, hospital_id: 1,
    })
    expect(load.text(page, '.total-value')).toBe('¥560.00')
    expect(load.text(page, '.total')).toBe('¥560.00')

    await load.tap(page, '.plus') // 2 days
    page.instance.onPatient(detail({ value: '1' }))
    page.instance.onInput({ currentTarget: { dataset: { field: 'bed' } }, detail: { value: '12床' } })
    page.instance.onInput({ currentTarget: { dataset: { field: 'needs' } }, detail: { value: '术后第三天' } })
    load.queryAll(page, '.type')[2].dispatchEvent('tap') // 陪诊: 4 hours by default
    await load.flush()
    expect(load.text(page, '.end-text')).toBe('2030-01-05 12:00')
    expect(env.backend.callsTo('POST /api/v1/care-orders/quote').pop().data).toEqual({
      care_type: 'escort', start: START, end: '2030-01-05T12:00:00+08:00', patient_id: 6, caregiver_id: 9,
      hospital_id: 1, bed: '12床', needs: '术后第三天',
    })
  })

  test('提交 asks for subscribe messages, books, then pays with the returned parameters', async () => {
    bookingBackend()
    require('../../services/payments').POLL.interval = 0
    env.backend.on('POST /api/v1/care-orders', respond(201, {
      order: C.careOrder(77, 'pending_payment'), payment: F.payment(50, 'created', { order_type: 'care_order', order_id: 77 }), pay_params: F.payParams,
    }))
    env.backend.on('GET /api/v1/payments/{payment_id}', F.payment(50, 'paid', { order_type: 'care_order', order_id: 77 }))
    const page = await openForm()
    await load.tap(page, '.submit')
    await load.flush(10)

    const order = env.backend.calls.map((c) => `${c.method} ${c.path}`)
      .filter((c) => /subscriptions|care-orders$|payments/.test(c))
    expect(order).toEqual(['GET /api/v1/subscriptions', 'POST /api/v1/subscriptions', 'POST /api/v1/care-orders', 'GET /api/v1/payments/50'])
    expect(env.backend.callsTo('POST /api/v1/care-orders')[0].data).toEqual({
      care_type: 'full_day', start: START, end: '2030-01-06T08:00:00+08:00', patient_id: 5, caregiver_id: 9, hospital_id: 1,
    })
    expect(env.payments).toHaveLength(1)
    expect(env.payments[0]).toMatchObject(F.payParams)
    expect(env.toasts).toEqual(['支付成功'])
    expect(env.navigations).toEqual(['/packages/care/order/index?id=77'])
  })

  test('caregiver_busy shows the message and offers another caregiver; nothing is paid', async () => {
    bookingBackend()
    env.backend.on('POST /api/v1/care-orders', respond(409, { code: 'caregiver_busy', message: '该护工在所选时段已有其他订单' }))
    const page = await openForm()
    await load.tap(page, '.submit')
    await load.flush()
    expect(modals).toHaveLength(1)
    expect(modals[0].content).toBe('该护工在所选时段已有其他订单。可更换时间,或选择其他护工。')
    expect(load.text(page, '.form-error')).toBe('该护工在所选时段已有其他订单')
    expect(env.payments).toEqual([])
    expect(env.navigations).toEqual(['/packages/care/search/index?care_type=full_day'])
  })

  test('other codes: their message; field errors under the field', async () => {
    bookingBackend()
    env.backend.on('POST /api/v1/care-orders', respond(409, { code: 'night_service_declined', message: '该护工不提供夜间服务(22:00–次日06:00)' }))
    const page = await openForm()
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['该护工不提供夜间服务(22:00–次日06:00)'])

    env.backend.on('POST /api/v1/care-orders', respond(422, { code: 'time_not_on_grid', message: '请求参数有误', details: { start: ['预约时间需为整点或半点'] } }))
    await load.tap(page, '.submit')
    expect(load.text(page, '.field-error')).toBe('预约时间需为整点或半点')
    expect(env.toasts.pop()).toBe('预约时间需为整点或半点')
    expect(env.payments).toEqual([])
  })

  test('a quote refusal is shown where the price would be', async () => {
    bookingBackend()
    env.backend.on('POST /api/v1/care-orders/quote', respond(409, { code: 'outside_availability', message: '所选时段不在该护工的服务时间内' }))
    const page = await openForm()
    expect(load.text(page, '.quote-error')).toBe('所选时段不在该护工的服务时间内')
    expect(env.toasts).toEqual([])
  })

  test('the place is checked before booking; an address needs its city', async () => {
    bookingBackend()
    env.backend.on('POST /api/v1/care-orders', respond(201, { order: C.careOrder(78, 'pending_payment'), payment: null, pay_params: null }))
    const page = await openForm({ hospital_id: undefined, caregiver_id: undefined, care_type: 'hourly' })
    expect(load.text(page, '.caregiver-name')).toBe('平台派单(由平台为您匹配护工)')
    expect(env.backend.callsTo('POST /api/v1/care-orders/quote')).toHaveLength(0) // no place yet
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['请选择医院,或填写服务地址和城市'])
    expect(env.backend.callsTo('POST /api/v1/care-orders')).toHaveLength(0)

    load.queryAll(page, '.kind')[1].dispatchEvent('tap') // 居家
    page.instance.onInput({ currentTarget: { dataset: { field: 'address' } }, detail: { value: '越秀区中山一路 8 号' } })
    await load.tap(page, '.submit')
    expect(env.toasts.pop()).toBe('请选择服务地址所在城市')
    page.instance.onRegion(detail({ code: ['440000', '440100'], value: ['广东省', '广州市'] }))
    await load.flush()
    await load.tap(page, '.submit')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/care-orders')[0].data).toEqual({
      care_type: 'hourly', start: START, end: '2030-01-05T09:00:00+08:00', patient_id: 5,
      address: '越秀区中山一路 8 号', city_code: '440100',
    })
    expect(env.payments).toEqual([]) // nothing to pay
    expect(env.navigations).toEqual(['/packages/care/order/index?id=78'])
  })

  test('without patients it offers to add one', async () => {
    bookingBackend()
    env.backend.on('GET /api/v1/patients', F.page([]))
    const page = await openForm()
    await load.tap(page, '.add-patient')
    expect(env.navigations).toEqual(['/packages/patients/edit/index'])
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['请选择就诊人'])
  })
})

describe('陪护订单 packages/care/orders', () => {
  test('tabs filter by status, pages load on reaching the bottom, cards act', async () => {
    env.backend.on('GET /api/v1/care-orders', (req) => {
      if (req.query.page === '2') return F.page([C.careOrder(3, 'completed')], 3)
      return F.page([C.careOrder(1, 'pending_payment'), C.careOrder(2, 'awaiting_confirmation')], 3)
    })
    const page = await load.loadPage('packages/care/orders/index')
    expect(env.backend.callsTo('GET /api/v1/care-orders')[0].query).toEqual({ page: '1', page_size: '20' })
    expect(load.texts(page, '.tab')).toEqual(['全部', '待支付', '待接单', '待服务', '服务中', '已完成', '已取消'])
    expect(load.texts(page, '.action')).toEqual(['去支付', '确认完成'])
    await page.instance.onReachBottom()
    await load.flush()
    expect(load.queryAll(page, '.card')).toHaveLength(3)
    expect(load.texts(page, '.action')).toEqual(['去支付', '确认完成', '去评价'])

    load.queryAll(page, '.tab')[4].dispatchEvent('tap') // 服务中
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/care-orders').pop().query)
      .toEqual({ status: ['in_service', 'awaiting_confirmation', 'disputed'], page: '1', page_size: '20' })

    env.backend.on('POST /api/v1/care-orders/{order_id}/confirm', C.careOrder(2, 'completed'))
    load.queryAll(page, '.action')[1].dispatchEvent('tap')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/care-orders/{order_id}/confirm')[0].path).toBe('/api/v1/care-orders/2/confirm')
    await load.tap(page, '.card')
    expect(env.navigations).toEqual(['/packages/care/order/index?id=1'])
  })

  test('去支付 prepays the care order and pays', async () => {
    require('../../services/payments').POLL.interval = 0
    env.backend.on('GET /api/v1/care-orders', F.page([C.careOrder(1, 'pending_payment')]))
    env.backend.on('POST /api/v1/payments/prepay', { payment: F.payment(8, 'created'), pay_params: F.payParams })
    env.backend.on('GET /api/v1/payments/{payment_id}', F.payment(8, 'paid'))
    const page = await load.loadPage('packages/care/orders/index', { tab: 'unpaid' })
    expect(env.backend.calls[0].query.status).toBe('pending_payment')
    await load.tap(page, '.action')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/payments/prepay')[0].data).toEqual({ order_type: 'care_order', order_id: 1 })
    expect(env.payments[0].package).toBe(F.payParams.package)
    expect(env.toasts).toEqual(['支付成功'])
  })

  test('empty and error states', async () => {
    env.backend.on('GET /api/v1/care-orders', F.page([]))
    const page = await load.loadPage('packages/care/orders/index')
    expect(load.text(page, '.message')).toBe('暂无陪护订单')
    await load.tap(page, '.action')
    expect(env.navigations).toEqual(['/packages/care/search/index'])
    env.backend.on('GET /api/v1/care-orders', respond(500, { code: 'internal_error', message: '服务器开小差了,请稍后再试' }))
    await page.instance.load()
    await load.flush()
    expect(load.text(page, '.message')).toBe('服务器开小差了,请稍后再试')
  })
})

describe('订单详情 packages/care/order', () => {
  test('shows progress and service records; photos download with the token', async () => {
    env.backend.on('GET /api/v1/care-orders/{order_id}', C.careOrderDetail(7, 'in_service', { started_at: '2030-01-05T00:05:00+00:00' }))
    env.backend.on('GET /api/v1/care-orders/{order_id}/records', [C.record(3, 7, 2), C.record(4, 7, 0, { condition: '平稳' })])
    env.backend.on('GET /api/v1/care-orders/{order_id}/records/{record_id}/photos/{index}', 'binary')
    const page = await load.loadPage('packages/care/order/index', { id: '7' })
    await load.flush()
    expect(load.text(page, '.tag')).toBe('服务中')
    expect(load.texts(page, '.event-title')).toEqual(['已支付,待接单系统', '待支付家属'])
    expect(load.texts(page, '.record-text')).toEqual(['状况:精神好', '护理:翻身、擦洗', '状况:平稳', '护理:翻身、擦洗'])
    expect(env.downloads).toEqual([
      'http://127.0.0.1:5000/api/v1/care-orders/7/records/3/photos/0',
      'http://127.0.0.1:5000/api/v1/care-orders/7/records/3/photos/1',
    ])
    const photoCalls = env.backend.callsTo('GET /api/v1/care-orders/{order_id}/records/{record_id}/photos/{index}')
    expect(photoCalls.map((c) => c.header.Authorization)).toEqual(['Bearer token-0', 'Bearer token-0'])
    expect(load.queryAll(page, '.photo')).toHaveLength(2)
    expect(page.data.records[0].photos.map((p) => p.path)).toEqual(['wxfile://tmp/1', 'wxfile://tmp/2'])
    const previews = []
    wx.previewImage = (o) => previews.push(o)
    load.queryAll(page, '.photo-box')[1].dispatchEvent('tap')
    await load.flush()
    expect(previews).toEqual([{ current: 'wxfile://tmp/2', urls: ['wxfile://tmp/1', 'wxfile://tmp/2'] }])
    expect(load.texts(page, '.action')).toEqual(['申请纠纷'])
    await load.tap(page, '.action--dispute')
    expect(env.navigations).toEqual(['/packages/care/dispute/index?id=7'])
  })

  test('a photo that fails to download can be tried again', async () => {
    env.backend.on('GET /api/v1/care-orders/{order_id}', C.careOrderDetail(7, 'in_service', { started_at: '2030-01-05T00:05:00+00:00' }))
    env.backend.on('GET /api/v1/care-orders/{order_id}/records', [C.record(3, 7, 1)])
    env.backend.on('GET /api/v1/care-orders/{order_id}/records/{record_id}/photos/{index}', respond(404, { code: 'file_not_found', message: '照片不存在' }))
    const page = await load.loadPage('packages/care/order/index', { id: '7' })
    await load.flush()
    expect(load.text(page, '.photo-failed')).toBe('加载失败 点击重试')
    expect(env.toasts).toEqual([])
    env.backend.on('GET /api/v1/care-orders/{order_id}/records/{record_id}/photos/{index}', 'binary')
    await load.tap(page, '.photo-box')
    await load.flush()
    expect(load.query(page, '.photo')).not.toBeNull()
    expect(page.data.records[0].photos[0].path).toBe('wxfile://tmp/2')
  })

  test('取消 before acceptance shows the full refund, cancels and reports the refund', async () => {
    env.backend.on('GET /api/v1/care-orders/{order_id}', C.careOrderDetail(7, 'awaiting_acceptance'))
    env.backend.on('POST /api/v1/care-orders/{order_id}/cancel', C.careOrder(7, 'cancelled', { refunded_fen: 28000 }))
    const page = await load.loadPage('packages/care/order/index', { id: '7' })
    expect(load.texts(page, '.action')).toEqual(['取消订单'])
    await load.tap(page, '.action--cancel')
    await load.flush()
    expect(modals[0].content).toBe('护工尚未接单,取消后全额退款 ¥280.00,原路退回。')
    const call = env.backend.callsTo('POST /api/v1/care-orders/{order_id}/cancel')[0]
    expect(call.path).toBe('/api/v1/care-orders/7/cancel')
    expect(call.data).toEqual({})
    expect(env.toasts).toEqual(['已取消,退款 ¥280.00 将原路退回'])
  })

  test('取消 after acceptance explains the partial refund; cancel_not_allowed shows its message', async () => {
    env.backend.on('GET /api/v1/care-orders/{order_id}', C.careOrderDetail(7, 'accepted'))
    env.backend.on('POST /api/v1/care-orders/{order_id}/cancel', respond(409, { code: 'cancel_not_allowed', message: '服务已开始,不能取消;如有问题请申请纠纷处理' }))
    const page = await load.loadPage('packages/care/order/index', { id: '7' })
    expect(load.texts(page, '.action')).toEqual(['取消订单', '申请纠纷'])
    await load.tap(page, '.action--cancel')
    await load.flush()
    expect(modals[0].content).toBe('护工已接单,服务开始前取消按平台规则部分退款(已付 ¥280.00),其余作为护工的误工补偿。')
    expect(env.toasts).toEqual(['服务已开始,不能取消;如有问题请申请纠纷处理'])
  })

  test('确认完成 confirms; a completed order offers a review or shows mine', async () => {
    env.backend.on('GET /api/v1/care-orders/{order_id}', C.careOrderDetail(7, 'awaiting_confirmation', { started_at: '2030-01-05T00:00:00+00:00' }))
    env.backend.on('GET /api/v1/care-orders/{order_id}/records', [])
    env.backend.on('POST /api/v1/care-orders/{order_id}/confirm', C.careOrder(7, 'completed'))
    env.backend.on('GET /api/v1/care-orders/{order_id}/review', respond(404, { code: 'review_not_found', message: '该订单还没有评价' }))
    const page = await load.loadPage('packages/care/order/index', { id: '7' })
    expect(load.text(page, '.hint')).toBe('护工还没有填写服务记录')
    expect(load.texts(page, '.action')).toEqual(['确认完成', '申请纠纷'])
    env.backend.on('GET /api/v1/care-orders/{order_id}', C.careOrderDetail(7, 'completed', { started_at: '2030-01-05T00:00:00+00:00' }))
    await load.tap(page, '.action--confirm')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/care-orders/{order_id}/confirm')).toHaveLength(1)
    expect(env.toasts).toEqual(['已确认完成'])
    expect(load.texts(page, '.action')).toEqual(['评价护工', '申请纠纷'])
    await load.tap(page, '.action--review')
    expect(env.navigations).toEqual(['/packages/care/review/index?id=7'])

    env.backend.on('GET /api/v1/care-orders/{order_id}/review', C.review(7, { reply: '谢谢' }))
    await page.instance.onShow()
    await page.instance.onShow()
    await load.flush()
    expect(load.text(page, '.my-review .stars')).toBe('★★★★★')
    expect(load.text(page, '.my-review .reply')).toBe('护工回复:谢谢')
    expect(load.texts(page, '.action')).toEqual(['申请纠纷'])
  })

  test('an unknown order shows the server message', async () => {
    env.backend.on('GET /api/v1/care-orders/{order_id}', respond(404, { code: 'care_order_not_found', message: '陪护订单不存在' }))
    const page = await load.loadPage('packages/care/order/index', { id: '70' })
    expect(load.text(page, '.message')).toBe('陪护订单不存在')
  })
})

describe('评价 packages/care/review', () => {
  function reviewBackend() {
    env.backend.on('GET /api/v1/care-orders/{order_id}', C.careOrderDetail(7, 'completed'))
    env.backend.on('GET /api/v1/review-tags', C.reviewTags)
    env.backend.on('GET /api/v1/care-orders/{order_id}/review', respond(404, { code: 'review_not_found', message: '该订单还没有评价' }))
  }

  test('sends stars, tags and text', async () => {
    reviewBackend()
    env.backend.on('POST /api/v1/care-orders/{order_id}/review', respond(201, C.review(7)))
    const page = await load.loadPage('packages/care/review/index', { id: '7' })
    expect(load.texts(page, '.tag--good')).toEqual(['准时', '专业', '耐心'])
    expect(load.texts(page, '.tag--bad')).toEqual(['迟到', '粗心'])
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['请选择 1–5 星评分'])

    load.queryAll(page, '.star')[3].dispatchEvent('tap')
    load.queryAll(page, '.tag--good')[0].dispatchEvent('tap')
    load.queryAll(page, '.tag--good')[2].dispatchEvent('tap')
    await load.flush()
    expect(load.text(page, '.star-text')).toBe('满意')
    page.instance.onText(detail({ value: '  很耐心,准时到  ' }))
    await load.tap(page, '.submit')
    expect(env.backend.callsTo('POST /api/v1/care-orders/{order_id}/review')[0].data)
      .toEqual({ stars: 4, tags: ['punctual', 'patient'], text: '很耐心,准时到' })
    expect(env.toasts.pop()).toBe('评价成功')
  })

  test('already_reviewed shows the message and then the review', async () => {
    reviewBackend()
    env.backend.on('POST /api/v1/care-orders/{order_id}/review', respond(409, { code: 'already_reviewed', message: '该订单已评价过' }))
    const page = await load.loadPage('packages/care/review/index', { id: '7' })
    load.queryAll(page, '.star')[4].dispatchEvent('tap')
    await load.tap(page, '.submit')
    expect(env.backend.callsTo('POST /api/v1/care-orders/{order_id}/review')[0].data).toEqual({ stars: 5, tags: [] })
    expect(env.toasts).toEqual(['该订单已评价过'])
    env.backend.on('GET /api/v1/care-orders/{order_id}/review', C.review(7, { reply: '感谢' }))
    await page.instance.load()
    await load.flush()
    expect(load.text(page, '.existing-text')).toBe('很好')
    expect(load.text(page, '.reply')).toBe('护工回复:感谢')
    expect(load.query(page, '.submit')).toBeNull()
  })

  test('at most 5 tags', async () => {
    reviewBackend()
    env.backend.on('GET /api/v1/review-tags', C.reviewTags.concat([
      { code: 'friendly', name: '友善', positive: true }, { code: 'clean', name: '干净', positive: true }]))
    const page = await load.loadPage('packages/care/review/index', { id: '7' })
    load.queryAll(page, '.tag').forEach((t) => t.dispatchEvent('tap'))
    await load.flush()
    expect(page.instance.selectedTags()).toHaveLength(5)
    expect(env.toasts).toEqual(['最多选择 5 个标签', '最多选择 5 个标签'])
  })
})

describe('纠纷 packages/care/dispute', () => {
  function disputeBackend() {
    env.backend.on('GET /api/v1/care-orders/{order_id}', C.careOrderDetail(7, 'in_service'))
    let next = 100
    env.backend.on('POST /api/v1/files', (req) => respond(201, { ...C.file(next += 1), purpose: req.data.purpose }))
  }

  test('uploads evidence through services/files.js and sends the file ids with the text', async () => {
    disputeBackend()
    env.backend.on('POST /api/v1/care-orders/{order_id}/dispute', respond(201, C.dispute(7, { evidence_file_ids: [101, 102] })))
    const chosen = []
    wx.chooseMedia = (o) => {
      chosen.push(o)
      setTimeout(() => o.success({ tempFiles: [{ tempFilePath: 'wxfile://a.jpg' }, { tempFilePath: 'wxfile://b.jpg' }] }), 0)
    }
    const page = await load.loadPage('packages/care/dispute/index', { id: '7' })
    page.instance.onText(detail({ value: '太短了' }))
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['纠纷说明需 10–1000 字'])
    expect(load.text(page, '.field-error')).toBe('纠纷说明需 10–1000 字')

    await load.tap(page, '.add-photo')
    await load.flush()
    expect(chosen[0]).toMatchObject({ count: 9, mediaType: ['image'] })
    const uploads = env.backend.callsTo('POST /api/v1/files')
    expect(uploads.map((u) => [u.filePath, u.data.purpose, u.name])).toEqual([
      ['wxfile://a.jpg', 'attachment', 'file'], ['wxfile://b.jpg', 'attachment', 'file']])
    expect(load.queryAll(page, '.photo')).toHaveLength(2)

    page.instance.onText(detail({ value: '护工迟到两小时,且没有提前告知家属' }))
    await load.tap(page, '.submit')
    const body = env.backend.callsTo('POST /api/v1/care-orders/{order_id}/dispute')[0].data
    expect(body).toEqual({ text: '护工迟到两小时,且没有提前告知家属', evidence_file_ids: [101, 102] })
    expect(env.toasts.pop()).toBe('已提交,平台将尽快处理')
  })

  test('a removed photo is left out; dispute_exists shows its message', async () => {
    disputeBackend()
    env.backend.on('POST /api/v1/care-orders/{order_id}/dispute', respond(409, { code: 'dispute_exists', message: '该订单已申请过纠纷处理(每个订单限一次)' }))
    wx.chooseMedia = (o) => setTimeout(() => o.success({ tempFiles: [{ tempFilePath: 'wxfile://a.jpg' }, { tempFilePath: 'wxfile://b.jpg' }] }), 0)
    const page = await load.loadPage('packages/care/dispute/index', { id: '7' })
    await load.tap(page, '.add-photo')
    await load.flush()
    await load.tap(page, '.remove')
    page.instance.onText(detail({ value: '护工服务态度很差,多次催促' }))
    await load.tap(page, '.submit')
    expect(env.backend.callsTo('POST /api/v1/care-orders/{order_id}/dispute')[0].data)
      .toEqual({ text: '护工服务态度很差,多次催促', evidence_file_ids: [102] })
    expect(env.toasts).toEqual(['该订单已申请过纠纷处理(每个订单限一次)'])
  })

  test('a failed upload blocks the submit until retried', async () => {
    disputeBackend()
    env.backend.on('POST /api/v1/files', respond(413, { code: 'file_too_large', message: '上传内容过大' }))
    wx.chooseMedia = (o) => setTimeout(() => o.success({ tempFiles: [{ tempFilePath: 'wxfile://a.jpg' }] }), 0)
    const page = await load.loadPage('packages/care/dispute/index', { id: '7' })
    await load.tap(page, '.add-photo')
    await load.flush()
    expect(env.toasts).toEqual(['上传内容过大'])
    expect(load.text(page, '.photo-state')).toBe('失败 重试')
    page.instance.onText(detail({ value: '护工服务态度很差,多次催促' }))
    await load.tap(page, '.submit')
    expect(env.toasts.pop()).toBe('有照片上传失败,请重试或删除')
    expect(env.backend.callsTo('POST /api/v1/care-orders/{order_id}/dispute')).toHaveLength(0)
    env.backend.on('POST /api/v1/files', respond(201, C.file(120)))
    env.backend.on('POST /api/v1/care-orders/{order_id}/dispute', respond(201, C.dispute(7)))
    await load.tap(page, '.photo-state')
    await load.flush()
    await load.tap(page, '.submit')
    expect(env.backend.callsTo('POST /api/v1/care-orders/{order_id}/dispute')[0].data.evidence_file_ids).toEqual([120])
  })
})
