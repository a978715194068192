// The service modules beyond the request wrapper: payments, files, subscriptions, auth.
const { installWx, respond } = require('./helpers/wx')
const F = require('./fixtures')

let env

beforeEach(() => {
  jest.resetModules()
  env = installWx()
})

afterEach(() => env.backend.check())

describe('payments', () => {
  let payments
  beforeEach(() => {
    payments = require('../services/payments')
    payments.POLL.interval = 0
  })

  test('payWith: wx.requestPayment with the pay_params, then polls until paid', async () => {
    let polls = 0
    env.backend.on('GET /api/v1/payments/{payment_id}', () => F.payment(5, (polls += 1) < 3 ? 'created' : 'paid'))
    const paid = await payments.payWith({ payment: F.payment(5, 'created'), pay_params: F.payParams })
    expect(paid.status).toBe('paid')
    expect(env.payments[0]).toMatchObject(F.payParams)
    expect(polls).toBe(3)
  })

  test('a user cancel is pay_cancelled with 已取消支付, and no polling', async () => {
    env.paymentResult = 'cancel'
    await expect(payments.payWith({ payment: F.payment(5, 'created'), pay_params: F.payParams }))
      .rejects.toMatchObject({ code: 'pay_cancelled' })
    expect(env.toasts).toEqual(['已取消支付'])
    expect(env.backend.calls).toHaveLength(0)
  })

  test('still unpaid after the attempts → pay_pending (the order page shows the truth later)', async () => {
    env.backend.on('GET /api/v1/payments/{payment_id}', F.payment(5, 'created'))
    await expect(payments.payWith({ payment: F.payment(5, 'created'), pay_params: F.payParams }, { poll: { attempts: 2, interval: 0 } }))
      .rejects.toMatchObject({ code: 'pay_pending', message: '支付结果确认中,请稍后在订单中查看' })
  })

  test('payOrder: prepay with {order_type, order_id} first', async () => {
    env.backend.on('POST /api/v1/payments/prepay', { payment: F.payment(6, 'created'), pay_params: F.payParams })
    env.backend.on('GET /api/v1/payments/{payment_id}', F.payment(6, 'paid'))
    await payments.payOrder(payments.ORDER_TYPES.careOrder, 7)
    expect(env.backend.callsTo('POST /api/v1/payments/prepay')[0].data).toEqual({ order_type: 'care_order', order_id: 7 })
  })

  test('in WeChat DevTools (develop) it pays through the backend simulator instead', async () => {
    global.wx.getDeviceInfo = () => ({ platform: 'devtools' })
    env.backend.on('POST /_sim/pay', { transaction_id: '4200' })
    env.backend.on('GET /api/v1/payments/{payment_id}', F.payment(5, 'paid'))
    await payments.payWith({ payment: F.payment(5, 'created'), pay_params: F.payParams })
    expect(env.payments).toHaveLength(0)
    const [sim] = env.backend.callsTo('POST /_sim/pay')
    expect(sim.data).toEqual({ package: 'prepay_id=wx2026' })
    expect(sim.header.Authorization).toBeUndefined()
  })
})

describe('files', () => {
  test('uploads through wx.uploadFile with the token and purpose; resolves the File', async () => {
    const files = require('../services/files')
    env.backend.on('POST /api/v1/files', { id: 11, purpose: 'id_photo', content_type: 'image/jpeg' })
    const file = await files.upload('wxfile://tmp/a.jpg', files.PURPOSES.idPhoto)
    expect(file.id).toBe(11)
    const [call] = env.backend.calls
    expect(call).toMatchObject({ filePath: 'wxfile://tmp/a.jpg', name: 'file', data: { purpose: 'id_photo' } })
    expect(call.header.Authorization).toBe('Bearer token-0')
  })

  test('401 → one sign-in and one retry; an error shows its message', async () => {
    const files = require('../services/files')
    env.backend.on('POST /api/v1/files', (req) => (req.header.Authorization === 'Bearer token-0'
      ? respond(401, { code: 'token_expired', message: '登录已过期' }) : { id: 12 }))
    await expect(files.upload('wxfile://tmp/b.png', 'attachment')).resolves.toEqual({ id: 12 })
    expect(env.loginCalls).toBe(1)

    env.backend.on('POST /api/v1/files', respond(413, { code: 'payload_too_large', message: '文件不能超过 5 MB' }))
    await expect(files.upload('wxfile://tmp/c.pdf', 'attachment')).rejects.toMatchObject({ code: 'payload_too_large' })
    expect(env.toasts).toEqual(['文件不能超过 5 MB'])
  })
})

describe('subscriptions', () => {
  test('asks for the templates of the given events and reports the answers', async () => {
    const subscriptions = require('../services/subscriptions')
    env.backend.on('GET /api/v1/subscriptions', { items: [
      { template_id: 'tmpl_booked', title: '预约成功通知', events: ['registration_booked'], remaining: 0 },
      { template_id: 'tmpl_care', title: '订单状态通知', events: ['care_order_accepted'], remaining: 0 }] })
    env.backend.on('POST /api/v1/subscriptions', { items: [] })
    // without the list fetched ahead there is no prompt (it would open outside the tap)
    expect(await subscriptions.subscribe(['registration_booked'])).toEqual([])
    await subscriptions.prefetch()
    const asked = []
    const original = wx.requestSubscribeMessage
    wx.requestSubscribeMessage = (options) => { asked.push(options.tmplIds); original(options) }
    const pending = subscriptions.subscribe(['registration_booked'])
    expect(asked).toEqual([['tmpl_booked']]) // called in the same tick as the tap: no await first
    const results = await pending
    expect(results).toEqual([{ template_id: 'tmpl_booked', result: 'accept' }])
    expect(env.backend.callsTo('POST /api/v1/subscriptions')[0].data)
      .toEqual({ results: [{ template_id: 'tmpl_booked', result: 'accept' }] })
  })

  test('never rejects: a failure means no subscription, silently', async () => {
    const subscriptions = require('../services/subscriptions')
    env.backend.on('GET /api/v1/subscriptions', respond(503, { code: 'service_unavailable', message: '忙' }))
    await expect(subscriptions.prefetch()).resolves.toBeNull()
    await expect(subscriptions.subscribe()).resolves.toEqual([])
    expect(env.toasts).toEqual([])
  })
})

describe('auth', () => {
  test('logout clears the token even when the server call fails', async () => {
    const auth = require('../services/auth')
    env.backend.on('POST /api/v1/auth/logout', respond(503, { code: 'service_unavailable', message: '忙' }))
    await expect(auth.logout()).rejects.toBeTruthy()
    expect(env.storage.has('auth_token')).toBe(false)
  })

  test('ensureLogin signs in only without a token', async () => {
    const auth = require('../services/auth')
    await expect(auth.ensureLogin()).resolves.toBeNull()
    env.storage.clear()
    await expect(auth.ensureLogin()).resolves.toEqual({ id: 1, nickname: '测试用户' })
    expect(env.loginCalls).toBe(1)
  })
})

describe('config in WeChat DevTools (develop)', () => {
  test('signs in as the seeded demo user instead of with wx.login', async () => {
    global.wx.getDeviceInfo = () => ({ platform: 'devtools' })
    env.storage.clear()
    const auth = require('../services/auth')
    await auth.ensureLogin()
    expect(env.loginCalls).toBe(0)
    expect(env.backend.callsTo('POST /api/v1/auth/wechat-login')[0].data).toEqual({ code: 'demo-user' })
  })
})

describe('membership', () => {
  test('membership() and points(query) read the signed-in user’s level and points', async () => {
    const membership = require('../services/membership')
    env.backend.on('GET /api/v1/me/membership', { level: 'silver', level_name: '白银会员' })
    env.backend.on('GET /api/v1/me/points', { balance: 120, expiring_soon: [], history: F.page([]) })
    await expect(membership.membership()).resolves.toMatchObject({ level_name: '白银会员' })
    await expect(membership.points({ page: 2, page_size: 20 })).resolves.toMatchObject({ balance: 120 })
    expect(env.backend.callsTo('GET /api/v1/me/points')[0].query).toEqual({ page: '2', page_size: '20' })
    expect(env.backend.calls.every((c) => c.header.Authorization === 'Bearer token-0')).toBe(true)
  })
})

describe('waitlist', () => {
  let waitlist
  beforeEach(() => { waitlist = require('../services/waitlist') })

  test('list filters by repeated status; join posts {schedule_id, patient_id}; leave deletes the entry', async () => {
    env.backend.on('GET /api/v1/waitlist', F.page([]))
    env.backend.on('POST /api/v1/waitlist', respond(201, { id: 8, status: 'waiting' }))
    env.backend.on('DELETE /api/v1/waitlist/{entry_id}', { id: 8, status: 'left' })
    await waitlist.list({ status: ['waiting', 'offered'], page: 1, page_size: 20 })
    expect(env.backend.calls[0].query).toEqual({ status: ['waiting', 'offered'], page: '1', page_size: '20' })
    await expect(waitlist.join({ schedule_id: 4, patient_id: 5 })).resolves.toEqual({ id: 8, status: 'waiting' })
    expect(env.backend.callsTo('POST /api/v1/waitlist')[0].data).toEqual({ schedule_id: 4, patient_id: 5 })
    await expect(waitlist.leave(8)).resolves.toMatchObject({ status: 'left' })
    expect(env.backend.callsTo('DELETE /api/v1/waitlist/{entry_id}')[0].path).toBe('/api/v1/waitlist/8')
  })

  test('a refusal is an ApiError with the server’s code; toasted unless the page shows it', async () => {
    env.backend.on('DELETE /api/v1/waitlist/{entry_id}', respond(409, { code: 'waitlist_not_waiting', message: '已为您保留号源' }))
    await expect(waitlist.leave(8)).rejects.toMatchObject({ code: 'waitlist_not_waiting', status: 409 })
    expect(env.toasts).toEqual(['已为您保留号源'])
    env.backend.on('POST /api/v1/waitlist', respond(409, { code: 'waitlist_limit_reached', message: '已达上限' }))
    await expect(waitlist.join({ schedule_id: 4, patient_id: 5 }, { toast: false })).rejects.toMatchObject({ code: 'waitlist_limit_reached' })
    expect(env.toasts).toEqual(['已为您保留号源'])
  })
})

describe('booking', () => {
  test('create sends the points to spend; the body matches RegistrationCreate', async () => {
    const booking = require('../services/booking')
    const { expectValidBody } = require('./helpers/openapi')
    env.backend.on('POST /api/v1/registrations', respond(422, {
      code: 'points_over_limit', message: '使用的积分超过本单可抵扣的上限', details: { max_points: 1000 } }))
    const body = { schedule_id: 3, patient_id: 5, points: 1200 }
    expectValidBody('POST', '/api/v1/registrations', body)
    await expect(booking.create(body, { toast: false })).rejects.toMatchObject({
      code: 'points_over_limit', details: { max_points: 1000 } })
    expect(env.backend.callsTo('POST /api/v1/registrations')[0].data).toEqual(body)
  })
})
