// Where the API lives, per mini-program environment. The development port is written once
// here (DEV_PORT) and must match `make run` (PORT=5000 by default in scripts/run.py).
const DEV_PORT = 5000

const ENV = {
  develop: `http://127.0.0.1:${DEV_PORT}`, // WeChat DevTools against `make run` (不校验合法域名)
  trial: 'https://api-staging.example.com',
  release: 'https://api.example.com',
}

function envVersion() {
  try {
    return wx.getAccountInfoSync().miniProgram.envVersion || 'develop'
  } catch (e) {
    return 'develop' // outside WeChat (tests)
  }
}

function apiBase() {
  return ENV[envVersion()] || ENV.develop
}

// In WeChat DevTools in the develop environment the client talks to `make run`, whose WeChat
// and WeChat Pay are the backend's simulator (app/wechat/simulator).
function againstSimulator() {
  if (envVersion() !== 'develop') return false
  try {
    return wx.getDeviceInfo().platform === 'devtools'
  } catch (e) {
    return false
  }
}

// DevTools cannot pay for real (the test AppID has no merchant): payments go through the
// simulator's POST /_sim/pay instead of wx.requestPayment (services/payments.js).
const usePaySimulator = againstSimulator

// The simulator maps each login code to its own user, and DevTools hands out a new code each
// time; signing in as the seeded demo family ('demo-caregiver' for the demo caregiver, '' for
// the real wx.login code) gives the pages data to show.
const DEV_LOGIN_CODE = 'demo-user'
function devLoginCode() {
  return againstSimulator() ? DEV_LOGIN_CODE : ''
}

module.exports = { apiBase, envVersion, usePaySimulator, devLoginCode, DEV_PORT, ENV }
