// A fake `wx` for tests: in-memory storage, recorded toasts and navigations, wx.login, and a
// fake backend behind wx.request / wx.uploadFile that answers from per-route handlers and
// checks every request against the OpenAPI document.
//
//   const { installWx, respond } = require('./helpers/wx')
//   beforeEach(() => { jest.resetModules(); env = installWx() })
//   env.backend.on('GET /api/v1/hospitals', (req) => ({ items: [...], total: 1 }))
//   env.backend.on('POST /api/v1/registrations', respond(409, { code: 'schedule_full', message: '该号源已约满' }))
//   ...
//   env.backend.check()   // throws on a request the document lacks or a body it rejects
//
// Handlers get {method, path, query, data, header, url} and return the 200 body, or
// respond(status, bodyOrError), or networkError(), or a promise of one of those. Routes are "METHOD /path" with {param}
// templates as in the document. An unhandled route answers 404 and is reported by check().
require('miniprogram-simulate') // defines global.wx (its stubs) before we replace parts of it
const { findOperation, validateBody } = require('./openapi')

const RESPONSE = Symbol('response')

// respond(409, {code, message, details}) → the API's error shape; respond(201, body) → as is
function respond(status, body) {
  const isError = status >= 400 && body && body.code && !body.error
  return { [RESPONSE]: true, status, body: isError ? { error: { details: {}, ...body } } : body }
}

function networkError() {
  return { [RESPONSE]: true, network: true }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

// Lets pending promises, timers at 0 and setData settle.
async function flush(times = 5) {
  for (let i = 0; i < times; i += 1) await tick()
}

function parseQuery(search) {
  const query = {}
  new URLSearchParams(search).forEach((value, key) => {
    if (key in query) query[key] = [].concat(query[key], value)
    else query[key] = value
  })
  return query
}

function routeRegex(route) {
  const [method, template] = route.split(' ')
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')
  return { method, regex: new RegExp(`^${pattern}$`) }
}

function createBackend({ validate = true } = {}) {
  const routes = []
  const backend = {
    calls: [], // every request, in order
    problems: [], // requests outside the document, bodies it rejects, unhandled routes
    logins: 0,
    // a handler: function(req) → body | respond() | networkError(), or a plain value
    on(route, handler) {
      routes.unshift({ route, ...routeRegex(route), handler })
      return backend
    },
    // the calls to one route ("POST /api/v1/registrations" or with {param})
    callsTo(route) {
      const { method, regex } = routeRegex(route)
      return backend.calls.filter((c) => c.method === method && regex.test(c.path))
    },
    check() {
      if (backend.problems.length) {
        throw new Error(`fake backend saw problems:\n  ${backend.problems.join('\n  ')}`)
      }
    },
    handle(req) {
      backend.calls.push(req)
      if (validate && !req.path.startsWith('/_sim/')) {
        if (!findOperation(req.method, req.path)) {
          backend.problems.push(`${req.method} ${req.path} is not in the API document`)
        } else if (!req.multipart) {
          const { valid, errors } = validateBody(req.method, req.path, req.data)
          if (!valid) backend.problems.push(`${req.method} ${req.path}: ${errors.join('; ')}`)
        }
      }
      const found = routes.find((r) => r.method === req.method && r.regex.test(req.path))
      if (!found) {
        backend.problems.push(`no handler for ${req.method} ${req.path}`)
        return respond(404, { code: 'not_found', message: '未找到' })
      }
      const out = typeof found.handler === 'function' ? found.handler(req) : found.handler
      const normalize = (o) => (o && o[RESPONSE] ? o : respond(200, o === undefined ? null : o))
      // a handler may return a promise to hold its answer back (ordering tests)
      return out && typeof out.then === 'function' ? out.then(normalize) : normalize(out)
    },
  }
  // sign-in works out of the box: each login hands out a new token
  backend.on('POST /api/v1/auth/wechat-login', () => {
    backend.logins += 1
    return { token: `token-${backend.logins}`, user: { id: 1, nickname: '测试用户' } }
  })
  return backend
}

// Installs the fake onto global.wx. token: the stored sign-in token ('' = signed out).
function installWx({ token = 'token-0', validate = true } = {}) {
  const storage = new Map()
  if (token) storage.set('auth_token', token)
  const backend = createBackend({ validate })
  const env = {
    backend,
    storage,
    toasts: [], // titles of wx.showToast
    navigations: [], // urls of navigateTo / redirectTo / switchTab
    payments: [], // the params of wx.requestPayment
    downloads: [], // the urls of wx.downloadFile
    loginCalls: 0,
    // what wx.requestPayment answers: 'ok' | 'cancel' | 'fail'
    paymentResult: 'ok',
    // what wx.requestSubscribeMessage answers per template id: 'accept' by default
    subscribeAnswer: 'accept',
    badge: null,
  }
  const later = (fn) => setTimeout(fn, 0)
  const ok = (name, extra) => (options = {}) => later(() => {
    if (options.success) options.success({ errMsg: `${name}:ok`, ...extra })
    if (options.complete) options.complete({ errMsg: `${name}:ok` })
  })
  const navigate = (name) => (options = {}) => {
    env.navigations.push(options.url)
    ok(name)(options)
  }

  Object.assign(global.wx, {
    // a phone, not DevTools: payments use wx.requestPayment (config.usePaySimulator)
    getDeviceInfo: () => ({ platform: 'ios', brand: 'devtools', model: 'iPhone 13' }),
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => { storage.set(key, value) },
    removeStorageSync: (key) => { storage.delete(key) },
    login: (options) => {
      env.loginCalls += 1
      later(() => options.success({ errMsg: 'login:ok', code: `code-${env.loginCalls}` }))
    },
    showToast: (options) => { env.toasts.push(options.title) },
    showLoading: () => {},
    hideLoading: () => {},
    showModal: (options = {}) => later(() => options.success && options.success({ confirm: true, cancel: false })),
    navigateTo: navigate('navigateTo'),
    redirectTo: navigate('redirectTo'),
    switchTab: navigate('switchTab'),
    navigateBack: ok('navigateBack'),
    stopPullDownRefresh: () => {},
    setTabBarBadge: (options) => { env.badge = options.text },
    removeTabBarBadge: () => { env.badge = null },
    requestPayment: (options) => {
      env.payments.push({ ...options })
      later(() => {
        if (env.paymentResult === 'ok') options.success({ errMsg: 'requestPayment:ok' })
        else options.fail({ errMsg: `requestPayment:fail ${env.paymentResult}` })
      })
    },
    requestSubscribeMessage: (options) => {
      const answers = { errMsg: 'requestSubscribeMessage:ok' }
      options.tmplIds.forEach((id) => { answers[id] = env.subscribeAnswer })
      later(() => options.success(answers))
    },
    request: (options) => {
      const url = new URL(options.url)
      const req = {
        method: (options.method || 'GET').toUpperCase(),
        url: options.url,
        path: url.pathname,
        query: parseQuery(url.search),
        data: options.data,
        header: options.header || {},
      }
      Promise.resolve(backend.handle(req)).then((out) => later(() => {
        if (out.network) options.fail({ errMsg: 'request:fail timeout' })
        else options.success({ statusCode: out.status, data: out.body, header: {} })
      }))
      return { abort() {} }
    },
    uploadFile: (options) => {
      const url = new URL(options.url)
      const req = {
        method: 'POST',
        url: options.url,
        path: url.pathname,
        query: parseQuery(url.search),
        data: options.formData,
        filePath: options.filePath,
        name: options.name,
        header: options.header || {},
        multipart: true,
      }
      Promise.resolve(backend.handle(req)).then((out) => later(() => {
        if (out.network) options.fail({ errMsg: 'uploadFile:fail' })
        // uploadFile hands the body over as text
        else options.success({ statusCode: out.status, data: JSON.stringify(out.body) })
      }))
      return { abort() {}, onProgressUpdate() {} }
    },
    // GET through the fake backend (checked against the document); a 2xx hands back a temp
    // path wxfile://tmp/<n> (the handler's body is ignored); env.downloads lists the urls
    downloadFile: (options) => {
      const url = new URL(options.url)
      const req = {
        method: 'GET',
        url: options.url,
        path: url.pathname,
        query: parseQuery(url.search),
        data: undefined,
        header: options.header || {},
      }
      env.downloads.push(options.url)
      const n = env.downloads.length
      Promise.resolve(backend.handle(req)).then((out) => later(() => {
        if (out.network) options.fail({ errMsg: 'downloadFile:fail' })
        else options.success({ statusCode: out.status, tempFilePath: `wxfile://tmp/${n}` })
      }))
      return { abort() {}, onProgressUpdate() {} }
    },
  })
  return env
}

module.exports = { installWx, createBackend, respond, networkError, flush }
