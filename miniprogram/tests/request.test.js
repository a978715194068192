// services/request.js: token, 401 → one sign-in and one retry, errors → Chinese toasts.
const { installWx, respond, networkError, flush } = require('./helpers/wx')

let env
let api

beforeEach(() => {
  jest.resetModules()
  env = installWx({ validate: false }) // these tests use made-up paths on purpose
  api = require('../services/request')
})

const expired = respond(401, { code: 'token_expired', message: '登录已过期,请重新登录' })

test('attaches the stored token and resolves the JSON body', async () => {
  env.backend.on('GET /api/v1/me', { id: 1, nickname: '张三' })
  const body = await api.request('GET', '/api/v1/me')
  expect(body).toEqual({ id: 1, nickname: '张三' })
  expect(env.backend.calls[0].header.Authorization).toBe('Bearer token-0')
  expect(env.loginCalls).toBe(0)
})

test('every request carries one device id, made once and kept in storage', async () => {
  env.backend.on('GET /api/v1/me', { id: 1 })
  await api.request('GET', '/api/v1/me')
  await api.request('GET', '/api/v1/me')
  const ids = env.backend.calls.map((c) => c.header['X-Device-Id'])
  expect(ids[0]).toMatch(/^mp-[a-z0-9]+-[a-z0-9]+$/)
  expect(ids[1]).toBe(ids[0])
  expect(wx.getStorageSync('device_id')).toBe(ids[0])
})

test('builds the query: arrays repeat the key, empty values are left out', async () => {
  env.backend.on('GET /api/v1/registrations', { items: [], total: 0 })
  await api.request('GET', '/api/v1/registrations', {
    query: { status: ['booked', 'cancelled'], page: 1, keyword: '', level: null },
  })
  const [call] = env.backend.calls
  expect(call.url).toMatch(/\?status=booked&status=cancelled&page=1$/)
  expect(call.query).toEqual({ status: ['booked', 'cancelled'], page: '1' })
})

test('call() fills the path template from params', async () => {
  env.backend.on('GET /api/v1/hospitals/{hospital_id}', (req) => ({ path: req.path }))
  const body = await api.call(['GET', '/api/v1/hospitals/{hospital_id}'], { params: { hospital_id: 7 } })
  expect(body.path).toBe('/api/v1/hospitals/7')
  await expect(api.call(['GET', '/api/v1/hospitals/{hospital_id}'], {})).rejects.toThrow(/hospital_id/)
})

test('auth: false sends no token and never signs in', async () => {
  env.storage.clear()
  env.backend.on('GET /api/v1/hospitals', { items: [] })
  await api.request('GET', '/api/v1/hospitals', { auth: false })
  expect(env.backend.calls[0].header.Authorization).toBeUndefined()
  expect(env.loginCalls).toBe(0)
})

test('without a token it signs in first (wx.login → wechat-login) and stores the token', async () => {
  env.storage.clear()
  env.backend.on('GET /api/v1/me', { id: 1 })
  await api.request('GET', '/api/v1/me')
  expect(env.loginCalls).toBe(1)
  const login = env.backend.callsTo('POST /api/v1/auth/wechat-login')
  expect(login).toHaveLength(1)
  expect(login[0].data).toEqual({ code: 'code-1' })
  expect(login[0].header.Authorization).toBeUndefined()
  expect(env.backend.callsTo('GET /api/v1/me')[0].header.Authorization).toBe('Bearer token-1')
  expect(env.storage.get('auth_token')).toBe('token-1')
})

test('401: clears the token, signs in once and retries the request once with the new token', async () => {
  env.backend.on('GET /api/v1/me', (req) => (req.header.Authorization === 'Bearer token-0' ? expired : { id: 1 }))
  const body = await api.request('GET', '/api/v1/me')
  expect(body).toEqual({ id: 1 })
  expect(env.loginCalls).toBe(1)
  const tries = env.backend.callsTo('GET /api/v1/me')
  expect(tries.map((c) => c.header.Authorization)).toEqual(['Bearer token-0', 'Bearer token-1'])
  expect(env.storage.get('auth_token')).toBe('token-1')
  expect(env.toasts).toEqual([])
})

test('a second 401 after the retry is an error, not a loop', async () => {
  env.backend.on('GET /api/v1/me', expired)
  const error = await api.request('GET', '/api/v1/me').catch((e) => e)
  expect(error).toBeInstanceOf(api.ApiError)
  expect(error.status).toBe(401)
  expect(error.code).toBe('token_expired')
  expect(env.loginCalls).toBe(1)
  expect(env.backend.callsTo('GET /api/v1/me')).toHaveLength(2)
  expect(env.toasts).toEqual(['登录已过期,请重新登录'])
})

test('concurrent 401s share one wx.login and all retry with the new token', async () => {
  env.backend.on('GET /api/v1/{name}', (req) => (req.header.Authorization === 'Bearer token-0' ? expired : { ok: req.path }))
  const results = await Promise.all(['/api/v1/a', '/api/v1/b', '/api/v1/c'].map((p) => api.request('GET', p)))
  expect(results.map((r) => r.ok)).toEqual(['/api/v1/a', '/api/v1/b', '/api/v1/c'])
  expect(env.loginCalls).toBe(1)
  expect(env.backend.callsTo('POST /api/v1/auth/wechat-login')).toHaveLength(1)
  expect(env.backend.calls.filter((c) => c.header.Authorization === 'Bearer token-1')).toHaveLength(3)
})

test('a 401 that arrives after another request already signed in reuses that token', async () => {
  // "slow" is sent with token-0 and answers 401 only after "fast" has signed in again
  let releaseSlow
  const slowHeld = new Promise((resolve) => { releaseSlow = resolve })
  env.backend.on('GET /api/v1/fast', (req) => (req.header.Authorization === 'Bearer token-0' ? expired : { ok: 1 }))
  env.backend.on('GET /api/v1/slow', (req) => (req.header.Authorization === 'Bearer token-0'
    ? slowHeld.then(() => expired) : { ok: 2 }))
  const slow = api.request('GET', '/api/v1/slow')
  await expect(api.request('GET', '/api/v1/fast')).resolves.toEqual({ ok: 1 })
  releaseSlow()
  await expect(slow).resolves.toEqual({ ok: 2 })
  expect(env.loginCalls).toBe(1)
  expect(env.backend.callsTo('GET /api/v1/slow').map((c) => c.header.Authorization))
    .toEqual(['Bearer token-0', 'Bearer token-1'])
})

test('an error body becomes an ApiError and its Chinese message a toast', async () => {
  env.backend.on('POST /api/v1/registrations', respond(409, {
    code: 'schedule_full', message: '该号源已约满', details: { schedule_id: 3 } }))
  const error = await api.request('POST', '/api/v1/registrations', { data: { schedule_id: 3 } }).catch((e) => e)
  expect(error).toBeInstanceOf(api.ApiError)
  expect(error).toMatchObject({ status: 409, code: 'schedule_full', message: '该号源已约满',
    details: { schedule_id: 3 }, toasted: true })
  expect(env.toasts).toEqual(['该号源已约满'])
})

test('MESSAGES overrides the server message for a code', async () => {
  api.MESSAGES.rate_limited = '操作太频繁,请稍后再试'
  env.backend.on('GET /api/v1/me', respond(429, { code: 'rate_limited', message: 'Too Many Requests' }))
  await expect(api.request('GET', '/api/v1/me')).rejects.toMatchObject({ code: 'rate_limited' })
  expect(env.toasts).toEqual(['操作太频繁,请稍后再试'])
})

test('toast: false leaves the message to the caller', async () => {
  env.backend.on('POST /api/v1/patients', respond(400, {
    code: 'validation_error', message: '请检查填写的内容', details: { id_number: ['身份证号码不正确'] } }))
  const error = await api.request('POST', '/api/v1/patients', { data: {}, toast: false }).catch((e) => e)
  expect(error.details).toEqual({ id_number: ['身份证号码不正确'] })
  expect(error.toasted).toBe(false)
  expect(env.toasts).toEqual([])
})

test('a body without the error shape (a proxy 502) gets a generic Chinese message', async () => {
  env.backend.on('GET /api/v1/me', respond(502, '<html>Bad Gateway</html>'))
  await expect(api.request('GET', '/api/v1/me')).rejects.toMatchObject({ status: 502, code: 'http_error' })
  expect(env.toasts).toEqual(['服务暂时不可用,请稍后再试'])
})

test('network failure → 网络异常,请检查网络后重试', async () => {
  env.backend.on('GET /api/v1/me', networkError())
  const error = await api.request('GET', '/api/v1/me').catch((e) => e)
  expect(error).toMatchObject({ status: 0, code: 'network_error', message: '网络异常,请检查网络后重试' })
  expect(env.toasts).toEqual(['网络异常,请检查网络后重试'])
  expect(env.loginCalls).toBe(0)
})

test('a failing sign-in rejects the request with its reason, once', async () => {
  env.storage.clear()
  env.backend.on('POST /api/v1/auth/wechat-login', respond(403, { code: 'account_banned', message: '账号已被封禁' }))
  env.backend.on('GET /api/v1/me', { id: 1 })
  await expect(api.request('GET', '/api/v1/me')).rejects.toMatchObject({ code: 'account_banned' })
  expect(env.backend.callsTo('GET /api/v1/me')).toHaveLength(0)
  expect(env.toasts).toEqual(['账号已被封禁'])
  await flush()
  // the next request tries again (the failed sign-in is not cached)
  env.backend.on('POST /api/v1/auth/wechat-login', { token: 'token-9', user: { id: 1 } })
  await expect(api.request('GET', '/api/v1/me')).resolves.toEqual({ id: 1 })
})

test('204 / empty body resolves null', async () => {
  env.backend.on('DELETE /api/v1/patients/{id}', respond(204, ''))
  await expect(api.request('DELETE', '/api/v1/patients/3')).resolves.toBeNull()
})
