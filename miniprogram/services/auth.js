// The signed-in account: sign-in, profile, phone binding (getPhoneNumber), real-name.
const { call, signIn, getToken, clearToken } = require('./request')

const ENDPOINTS = {
  wechatLogin: ['POST', '/api/v1/auth/wechat-login'],
  bindPhone: ['POST', '/api/v1/auth/phone'],
  logout: ['POST', '/api/v1/auth/logout'],
  me: ['GET', '/api/v1/me'],
  updateMe: ['PATCH', '/api/v1/me'],
  realName: ['GET', '/api/v1/me/real-name'],
  submitRealName: ['POST', '/api/v1/me/real-name'],
}

// Signs in when there is no token yet; resolves the user only when it signed in.
async function ensureLogin() {
  if (getToken()) return null
  return (await signIn()).user
}

const me = (opts) => call(ENDPOINTS.me, opts)
const updateMe = (data, opts) => call(ENDPOINTS.updateMe, { ...opts, data })
// code: e.detail.code from <button open-type="getPhoneNumber" bindgetphonenumber>
const bindPhone = (code, opts) => call(ENDPOINTS.bindPhone, { ...opts, data: { code } })
const realName = (opts) => call(ENDPOINTS.realName, opts)
// data: the RealNameSubmit body (name, id number, the id photo's file id from files.upload)
const submitRealName = (data, opts) => call(ENDPOINTS.submitRealName, { ...opts, data })

async function logout() {
  try {
    await call(ENDPOINTS.logout, { toast: false })
  } finally {
    clearToken()
  }
}

module.exports = { ENDPOINTS, ensureLogin, me, updateMe, bindPhone, realName, submitRealName, logout }
