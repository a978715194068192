// The one place that calls wx.request (files.js is the only other network call, for uploads).
//
// request(method, path, { query, data, auth = true, toast = true }) → Promise of the JSON body.
// - attaches the token (Authorization: Bearer …); with auth and no token it signs in first;
// - on 401 it clears the token, signs in again (wx.login → POST /api/v1/auth/wechat-login) and
//   retries once; a second 401 is an error, never a loop; concurrent 401s share one sign-in;
// - an error body {"error": {code, message, details}} becomes an ApiError, and its Chinese
//   message is shown as a toast (toast: false leaves that to the caller, e.g. form errors).
//
// Service modules call `call(ENDPOINTS.name, { params, query, data })`, which fills the path
// template ({hospital_id}) from params, so every endpoint lives in one table per module.
const { apiBase, devLoginCode } = require('../config/index')

const TOKEN_KEY = 'auth_token'
const NETWORK_MESSAGE = '网络异常,请检查网络后重试'
const FALLBACK_MESSAGE = '服务暂时不可用,请稍后再试'
const LOGIN_FAILED_MESSAGE = '微信登录失败,请稍后重试'

// Sign-in lives here, not in auth.js, so the 401 path has no circular require.
const ENDPOINTS = {
  wechatLogin: ['POST', '/api/v1/auth/wechat-login'],
}

// code → Chinese text shown instead of the server's message. The server's messages are already
// Chinese and specific; add a code only where the client wants different wording.
const MESSAGES = {}

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message)
    this.name = 'ApiError'
    this.status = status // HTTP status; 0 = no answer (network)
    this.code = code // the server's stable code, e.g. "validation_error"
    this.details = details || {} // validation_error: {field: [message]}
    this.toasted = false // true once the wrapper has shown it
  }
}

function getToken() {
  return wx.getStorageSync(TOKEN_KEY) || ''
}

// A random id made on first use and kept in storage: the server caps bookings per device
// (X-Device-Id, against scalpers); it identifies this install, nothing about the person.
const DEVICE_KEY = 'device_id'

function deviceId() {
  let id = wx.getStorageSync(DEVICE_KEY)
  if (!id) {
    id = `mp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`
    wx.setStorageSync(DEVICE_KEY, id)
  }
  return id
}

function setToken(token) {
  wx.setStorageSync(TOKEN_KEY, token)
}

function clearToken() {
  wx.removeStorageSync(TOKEN_KEY)
}

// "/api/v1/hospitals/{hospital_id}" + {hospital_id: 3} → "/api/v1/hospitals/3"
function fillPath(template, params) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => {
    const value = params && params[name]
    if (value === undefined || value === null || value === '') {
      throw new Error(`missing path parameter ${name} for ${template}`)
    }
    return encodeURIComponent(String(value))
  })
}

// Arrays repeat the key (?status=booked&status=cancelled), as the API reads them; empty
// values are left out so a cleared filter means "all".
function buildQuery(query) {
  if (!query) return ''
  const parts = []
  Object.keys(query).forEach((key) => {
    const values = Array.isArray(query[key]) ? query[key] : [query[key]]
    values.forEach((value) => {
      if (value === undefined || value === null || value === '') return
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    })
  })
  return parts.length ? `?${parts.join('&')}` : ''
}

function errorFromResponse(res) {
  const body = res.data && typeof res.data === 'object' ? res.data.error : null
  if (!body) return new ApiError(res.statusCode, 'http_error', FALLBACK_MESSAGE)
  return new ApiError(res.statusCode, body.code || 'http_error',
    MESSAGES[body.code] || body.message || FALLBACK_MESSAGE, body.details)
}

// One HTTP exchange; resolves {status, data} or rejects an ApiError.
function send(method, url, data, token) {
  const header = { 'content-type': 'application/json', 'X-Device-Id': deviceId() }
  if (token) header.Authorization = `Bearer ${token}`
  return new Promise((resolve, reject) => {
    wx.request({
      url,
      method,
      data,
      header,
      timeout: 10000,
      success(res) {
        if (res.statusCode >= 200 && res.statusCode < 300) {
          resolve({ status: res.statusCode, data: res.data === '' ? null : res.data })
        } else {
          reject(errorFromResponse(res))
        }
      },
      fail() {
        reject(new ApiError(0, 'network_error', NETWORK_MESSAGE))
      },
    })
  })
}

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res && res.code ? resolve(res.code)
        : reject(new ApiError(0, 'wx_login_failed', LOGIN_FAILED_MESSAGE))),
      fail: () => reject(new ApiError(0, 'wx_login_failed', LOGIN_FAILED_MESSAGE)),
    })
  })
}

let pendingSignIn = null

// wx.login → POST /api/v1/auth/wechat-login → token stored. Callers at the same time share
// one sign-in. Resolves the LoginResult {token, user}.
function signIn() {
  if (!pendingSignIn) {
    pendingSignIn = (async () => {
      const code = devLoginCode() || (await wxLogin())
      const [method, path] = ENDPOINTS.wechatLogin
      const { data } = await send(method, apiBase() + path, { code }, null)
      setToken(data.token)
      return data
    })()
    const forget = () => { pendingSignIn = null }
    pendingSignIn.then(forget, forget)
  }
  return pendingSignIn
}

// After a 401 on `staleToken`: join a sign-in under way, reuse a token another request has
// already fetched, or sign in ourselves.
async function renewToken(staleToken) {
  if (pendingSignIn) return (await pendingSignIn).token
  const current = getToken()
  if (current && current !== staleToken) return current
  clearToken()
  return (await signIn()).token
}

function showError(err) {
  err.toasted = true
  wx.showToast({ title: err.message, icon: 'none', duration: 2500 })
}

async function request(method, path, options = {}) {
  const { query, data, auth = true, toast = true } = options
  const url = apiBase() + path + buildQuery(query)
  try {
    let token = null
    if (auth) token = getToken() || (await signIn()).token
    try {
      return (await send(method, url, data, token)).data
    } catch (err) {
      if (!(auth && err instanceof ApiError && err.status === 401)) throw err
      token = await renewToken(token)
      return (await send(method, url, data, token)).data // once: a second 401 is thrown
    }
  } catch (err) {
    // anything but an ApiError is a bug in the client: let it surface as it is
    if (toast && err instanceof ApiError) showError(err)
    throw err
  }
}

// call(ENDPOINTS.detail, { params: {hospital_id: 3}, query, data, auth, toast })
async function call(endpoint, options = {}) {
  const [method, template] = endpoint
  return request(method, fillPath(template, options.params), options)
}

module.exports = {
  request, call, signIn, renewToken, ApiError, ENDPOINTS, MESSAGES, TOKEN_KEY, NETWORK_MESSAGE,
  getToken, setToken, clearToken, fillPath, buildQuery, errorFromResponse, showError,
}
