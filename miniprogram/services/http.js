// The one place that calls wx.request: adds the token, unwraps {"error": {...}} into a
// rejected ApiError carrying the stable code and the Chinese message.
const { apiBase } = require('../config/index')

const TOKEN_KEY = 'auth_token'

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message)
    this.status = status
    this.code = code
    this.details = details || {}
  }
}

function request(method, path, data) {
  const token = wx.getStorageSync(TOKEN_KEY)
  return new Promise((resolve, reject) => {
    wx.request({
      url: apiBase() + path,
      method,
      data,
      header: token ? { Authorization: 'Bearer ' + token } : {},
      timeout: 10000,
      success(res) {
        if (res.statusCode >= 200 && res.statusCode < 300) return resolve(res.data)
        const err = (res.data && res.data.error) || {}
        reject(new ApiError(res.statusCode, err.code || 'http_error',
          err.message || '网络异常,请稍后再试', err.details))
      },
      fail() {
        reject(new ApiError(0, 'network_error', '网络异常,请检查网络后重试'))
      },
    })
  })
}

module.exports = { request, ApiError, TOKEN_KEY }
