// API base per environment; the simulator-backed dev server runs on 127.0.0.1:5000.
const ENV = {
  develop: 'http://127.0.0.1:5000',
  trial: 'https://api-staging.example.com',
  release: 'https://api.example.com',
}

function apiBase() {
  let envVersion = 'develop'
  try {
    envVersion = wx.getAccountInfoSync().miniProgram.envVersion || 'develop'
  } catch (e) { /* outside WeChat (tests) */ }
  return ENV[envVersion] || ENV.develop
}

module.exports = { apiBase }
