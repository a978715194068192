// Uploads (ID photos, qualification certificates, evidence, service-record photos) and
// downloads that need the token: the only network calls besides services/request.js. Same
// token handling: signs in when there is no token, and on a 401 signs in again and retries once.
const { apiBase } = require('../config/index')
const {
  ApiError, NETWORK_MESSAGE, getToken, signIn, renewToken, errorFromResponse, showError,
} = require('./request')

const ENDPOINTS = {
  upload: ['POST', '/api/v1/files'],
  download: ['GET', '/api/v1/files/{file_id}'],
}

const PURPOSES = { idPhoto: 'id_photo', qualification: 'qualification', attachment: 'attachment', boardImage: 'board_image' }

function send(filePath, purpose, token) {
  return new Promise((resolve, reject) => {
    wx.uploadFile({
      url: apiBase() + ENDPOINTS.upload[1],
      filePath,
      name: 'file',
      formData: { purpose },
      header: { Authorization: `Bearer ${token}` },
      timeout: 60000,
      success(res) {
        // uploadFile hands the body over as text
        let data = res.data
        try {
          data = typeof data === 'string' && data ? JSON.parse(data) : data
        } catch (e) { /* not JSON: errorFromResponse falls back to a generic message */ }
        if (res.statusCode >= 200 && res.statusCode < 300) resolve(data)
        else reject(errorFromResponse({ statusCode: res.statusCode, data }))
      },
      fail() {
        reject(new ApiError(0, 'network_error', NETWORK_MESSAGE))
      },
    })
  })
}

// filePath: a temp path from wx.chooseMedia / wx.chooseMessageFile; purpose: PURPOSES value.
// Resolves the File {id, content_type, purpose, size_bytes, ...}; use its id in the next call.
async function upload(filePath, purpose, { toast = true } = {}) {
  try {
    let token = getToken() || (await signIn()).token
    try {
      return await send(filePath, purpose, token)
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) throw err
      token = await renewToken(token)
      return await send(filePath, purpose, token)
    }
  } catch (err) {
    if (toast && err instanceof ApiError) showError(err)
    throw err
  }
}

// Files the API serves only with the token (service-record photos: their photo_urls need
// Authorization, which <image src> cannot send): wx.downloadFile with the token to a temp
// path that <image> and wx.previewImage can show. `url` is the API's server-relative path
// (or a full URL). Resolves the tempFilePath; each url is fetched once per run.
const downloads = new Map()

function fetchFile(url, token) {
  return new Promise((resolve, reject) => {
    wx.downloadFile({
      url,
      header: { Authorization: `Bearer ${token}` },
      timeout: 60000,
      success(res) {
        if (res.statusCode >= 200 && res.statusCode < 300) resolve(res.tempFilePath)
        else reject(errorFromResponse({ statusCode: res.statusCode, data: null }))
      },
      fail() {
        reject(new ApiError(0, 'network_error', NETWORK_MESSAGE))
      },
    })
  })
}

function download(url, { toast = true } = {}) {
  if (downloads.has(url)) return downloads.get(url)
  const full = /^https?:\/\//.test(url) ? url : apiBase() + url
  const pending = (async () => {
    try {
      let token = getToken() || (await signIn()).token
      try {
        return await fetchFile(full, token)
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) throw err
        token = await renewToken(token)
        return await fetchFile(full, token)
      }
    } catch (err) {
      if (toast && err instanceof ApiError) showError(err)
      throw err
    }
  })()
  downloads.set(url, pending)
  pending.catch(() => downloads.delete(url)) // a failed one may be tried again
  return pending
}

module.exports = { ENDPOINTS, PURPOSES, upload, download }
