const { request, TOKEN_KEY } = require('./http')

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({ success: (res) => resolve(res.code), fail: reject })
  })
}

async function ensureLogin() {
  if (wx.getStorageSync(TOKEN_KEY)) return
  const code = await wxLogin()
  const result = await request('POST', '/api/v1/auth/wechat-login', { code })
  wx.setStorageSync(TOKEN_KEY, result.token)
  return result.user
}

function me() {
  return request('GET', '/api/v1/me')
}

module.exports = { ensureLogin, me }
