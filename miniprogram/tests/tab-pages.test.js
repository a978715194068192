// The four tab pages load from the API, show their states and call the right services.
const { installWx, respond } = require('./helpers/wx')
const F = require('./fixtures')

let env
let load

beforeEach(() => {
  jest.resetModules()
  env = installWx()
  load = require('./helpers/load')
})

afterEach(() => env.backend.check())

describe('首页 pages/home', () => {
  // signed in, home also asks for the user's announcements; none unless a test says so
  beforeEach(() => env.backend.on('GET /api/v1/notifications', F.page([])))

  test('lists hospitals from the API and links to them', async () => {
    env.backend.on('GET /api/v1/hospitals', F.page([F.hospital(1, '市第一人民医院'), F.hospital(2, '省中医院')]))
    const page = await load.loadPage('pages/home/index')
    expect(env.backend.calls[0].query).toEqual({ page: '1', page_size: '5' })
    expect(env.backend.calls[0].header.Authorization).toBeUndefined() // public
    expect(load.texts(page, '.cell-title')).toEqual(['市第一人民医院', '省中医院'])

    await load.tap(page, '.hospital')
    expect(env.navigations).toEqual(['/packages/booking/hospital/index?id=1'])
  })

  test('shows the latest announcements from the inbox; a tap opens 消息', async () => {
    env.backend.on('GET /api/v1/hospitals', F.page([F.hospital(1, '市第一人民医院')]))
    env.backend.on('GET /api/v1/notifications', F.page([
      { ...F.notification(8, 'announcement', 'announcement', 2), title: '春节门诊安排' },
      F.notification(7, 'announcement', 'announcement', 1)]))
    const page = await load.loadPage('pages/home/index')
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(env.backend.callsTo('GET /api/v1/notifications')[0].query)
      .toEqual({ kind: 'announcement', page_size: '3' })
    expect(load.text(page, '.notice-title')).toBe('春节门诊安排')
    expect(load.text(page, '.notice-more')).toBe('共 2 条')
    await load.tap(page, '.notice')
    expect(env.navigations).toEqual(['/pages/inbox/index'])
  })

  test('signed out, the home page asks for no announcements (no sign-in for a public page)', async () => {
    env.storage.clear()
    env.backend.on('GET /api/v1/hospitals', F.page([F.hospital(1, '市第一人民医院')]))
    const page = await load.loadPage('pages/home/index')
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(env.backend.callsTo('GET /api/v1/notifications')).toEqual([])
    expect(env.backend.logins).toBe(0)
    expect(load.queryAll(page, '.notice')).toHaveLength(0)
  })

  test('entries and search navigate to the service pages', async () => {
    env.backend.on('GET /api/v1/hospitals', F.page([]))
    const page = await load.loadPage('pages/home/index')
    expect(load.text(page, '.message')).toBe('暂无数据')
    const entries = load.queryAll(page, '.entry')
    entries[0].dispatchEvent('tap')
    entries[1].dispatchEvent('tap')
    page.instance.onKeyword({ detail: { value: ' 人民 ' } })
    await load.tap(page, '.search-btn')
    expect(env.navigations).toEqual(['/packages/booking/hospitals/index', '/packages/care/search/index',
      '/packages/booking/hospitals/index?keyword=%E4%BA%BA%E6%B0%91'])
  })

  test('an error shows the error state; 重试 loads again', async () => {
    env.backend.on('GET /api/v1/hospitals', respond(503, { code: 'service_unavailable', message: '服务繁忙,请稍后再试' }))
    const page = await load.loadPage('pages/home/index')
    expect(load.text(page, '.message')).toBe('服务繁忙,请稍后再试')
    expect(env.toasts).toEqual([]) // the page shows it; no toast on top
    env.backend.on('GET /api/v1/hospitals', F.page([F.hospital(1, '市第一人民医院')]))
    await load.tap(page, '.retry')
    expect(load.texts(page, '.cell-title')).toEqual(['市第一人民医院'])
  })
})

describe('订单 pages/orders', () => {
  test('loads registrations, filters by status tab, switches to care orders', async () => {
    env.backend.on('GET /api/v1/registrations', (req) => F.page(req.query.status
      ? [F.registration(2, 'booked')] : [F.registration(1, 'pending_payment'), F.registration(2, 'booked')]))
    env.backend.on('GET /api/v1/care-orders', F.page([F.careOrder(7, 'accepted')]))
    const page = await load.loadPage('pages/orders/index')
    expect(load.queryAll(page, '.card')).toHaveLength(2)

    const tabs = load.queryAll(page, '.tab')
    tabs[2].dispatchEvent('tap') // 已预约
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/registrations').pop().query).toEqual({ status: 'booked', page: '1', page_size: '20' })
    expect(load.queryAll(page, '.card')).toHaveLength(1)

    load.queryAll(page, '.segment')[1].dispatchEvent('tap')
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/care-orders')).toHaveLength(1)
    expect(load.text(page, '.title')).toBe('全天陪护')
  })

  test('去支付 prepays, calls wx.requestPayment with the returned params and polls until paid', async () => {
    env.backend.on('GET /api/v1/registrations', F.page([F.registration(42, 'pending_payment')]))
    env.backend.on('POST /api/v1/payments/prepay', { payment: F.payment(5, 'created'), pay_params: F.payParams })
    let polls = 0
    env.backend.on('GET /api/v1/payments/{payment_id}', () => {
      polls += 1
      return F.payment(5, polls < 2 ? 'created' : 'paid')
    })
    require('../services/payments').POLL.interval = 0
    const page = await load.loadPage('pages/orders/index')
    await load.tap(page, '.action') // the card's 去支付
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/payments/prepay')[0].data).toEqual({ order_type: 'registration', order_id: 42 })
    expect(env.payments).toHaveLength(1)
    expect(env.payments[0]).toMatchObject(F.payParams)
    expect(polls).toBe(2)
    expect(env.toasts).toEqual(['支付成功'])
    expect(env.backend.callsTo('GET /api/v1/registrations')).toHaveLength(2) // reloaded
  })

  test('a card opens its detail page', async () => {
    env.backend.on('GET /api/v1/registrations', F.page([F.registration(42, 'booked')]))
    const page = await load.loadPage('pages/orders/index')
    await load.tap(page, '.card')
    expect(env.navigations).toEqual(['/packages/booking/registration/index?id=42'])
  })
})

describe('消息 pages/inbox', () => {
  beforeEach(() => {
    env.backend.on('GET /api/v1/notifications', F.page([
      F.notification(1, 'registration_booked', 'registration', 42, false),
      F.notification(2, 'care_order_accepted', 'care_order', 7, true)]))
    env.backend.on('GET /api/v1/notifications/unread-count', { unread: 1 })
  })

  test('lists messages, shows the unread count on the tab badge', async () => {
    const page = await load.loadPage('pages/inbox/index')
    expect(load.texts(page, '.message-title')).toEqual(['消息1', '消息2'])
    expect(load.queryAll(page, '.dot')).toHaveLength(1)
    expect(load.text(page, '.bar-text')).toBe('1 条未读')
    expect(env.badge).toBe('1')
  })

  test('a tap marks the message read and opens what it is about', async () => {
    env.backend.on('POST /api/v1/notifications/{notification_id}/read', {})
    const page = await load.loadPage('pages/inbox/index')
    env.backend.on('GET /api/v1/notifications/unread-count', { unread: 0 })
    await load.tap(page, '.message')
    expect(env.backend.callsTo('POST /api/v1/notifications/{notification_id}/read')[0].path).toBe('/api/v1/notifications/1/read')
    expect(env.navigations).toEqual(['/packages/booking/registration/index?id=42'])
    expect(load.queryAll(page, '.dot')).toHaveLength(0)
    expect(env.badge).toBeNull()
  })

  test('全部已读 marks everything read', async () => {
    env.backend.on('POST /api/v1/notifications/read-all', { marked: 1 })
    const page = await load.loadPage('pages/inbox/index')
    env.backend.on('GET /api/v1/notifications/unread-count', { unread: 0 })
    await load.tap(page, '.bar-action')
    expect(env.backend.callsTo('POST /api/v1/notifications/read-all')).toHaveLength(1)
    expect(load.queryAll(page, '.dot')).toHaveLength(0)
    expect(load.query(page, '.bar')).toBeNull()
  })
})

describe('我的 pages/me', () => {
  const user = { id: 1, nickname: '张三', phone_bound: false, phone: null, real_name_status: 'verified' }

  test('shows the profile; not a caregiver → 成为护工', async () => {
    env.backend.on('GET /api/v1/me', user)
    env.backend.on('GET /api/v1/caregiver/me', respond(404, { code: 'not_found', message: '还不是护工' }))
    const page = await load.loadPage('pages/me/index')
    expect(load.text(page, '.nickname')).toBe('张三')
    expect(load.text(page, '.tag')).toBe('已认证')
    expect(load.query(page, '.apply')).toBeTruthy()
    expect(env.toasts).toEqual([]) // the 404 is an answer, not an error
    await load.tap(page, '.apply')
    expect(env.navigations).toEqual(['/packages/caregiver/apply/index'])
  })

  test('getPhoneNumber binds the phone with the code', async () => {
    env.backend.on('GET /api/v1/me', user)
    env.backend.on('GET /api/v1/caregiver/me', { id: 3, status: 'approved' })
    env.backend.on('POST /api/v1/auth/phone', { ...user, phone_bound: true, phone: '138****0000' })
    const page = await load.loadPage('pages/me/index')
    expect(load.queryAll(page, '.cell').length).toBeGreaterThan(6) // caregiver entries
    await page.instance.onPhone({ detail: { code: 'phone-code' } })
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/auth/phone')[0].data).toEqual({ code: 'phone-code' })
    expect(load.text(page, '.phone')).toBe('138****0000')
    expect(load.query(page, '.bind')).toBeNull()
  })
})
