// Paying an order: prepay (or the pay_params a booking already returned) → wx.requestPayment
// → poll the payment until the server has it as paid. The client's own "success" callback is
// never taken as proof: only the server (told by WeChat Pay's notification) is.
const { call, request, ApiError, showError } = require('./request')
const { usePaySimulator } = require('../config/index')

const ENDPOINTS = {
  prepay: ['POST', '/api/v1/payments/prepay'],
  detail: ['GET', '/api/v1/payments/{payment_id}'],
}

// Not part of the API document: the backend's WeChat Pay simulator, used only in WeChat
// DevTools in the develop environment (config.usePaySimulator()).
const DEV_ONLY_ENDPOINTS = {
  simulatorPay: ['POST', '/_sim/pay'],
}

const ORDER_TYPES = { registration: 'registration', careOrder: 'care_order' }
const CANCELLED = '已取消支付'
const PENDING = '支付结果确认中,请稍后在订单中查看'

const prepay = (orderType, orderId, opts) =>
  call(ENDPOINTS.prepay, { ...opts, data: { order_type: orderType, order_id: orderId } })
const detail = (paymentId, opts) =>
  call(ENDPOINTS.detail, { ...opts, params: { payment_id: paymentId } })

// wx.requestPayment with the server's pay_params, as a promise; a user cancel is an ApiError
// with code "pay_cancelled".
function requestPayment(payParams) {
  if (usePaySimulator()) {
    const [method, path] = DEV_ONLY_ENDPOINTS.simulatorPay
    return request(method, path, { data: { package: payParams.package }, auth: false, toast: false })
  }
  return new Promise((resolve, reject) => {
    wx.requestPayment({
      timeStamp: payParams.timeStamp,
      nonceStr: payParams.nonceStr,
      package: payParams.package,
      signType: payParams.signType,
      paySign: payParams.paySign,
      success: resolve,
      fail: (res) => {
        const cancelled = /cancel/.test((res && res.errMsg) || '')
        reject(new ApiError(0, cancelled ? 'pay_cancelled' : 'pay_failed',
          cancelled ? CANCELLED : '支付失败,请稍后重试'))
      },
    })
  })
}

// how often and how long to ask the server after wx.requestPayment (tests shorten it)
const POLL = { interval: 1500, attempts: 10 }

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Polls GET /payments/{id} until it is no longer "created"; resolves the payment. Still
// "created" after `attempts` → ApiError "pay_pending" (the notification may still arrive).
async function waitUntilPaid(paymentId, { interval = POLL.interval, attempts = POLL.attempts } = {}) {
  for (let i = 0; i < attempts; i += 1) {
    const payment = await detail(paymentId, { toast: false })
    if (payment.status !== 'created') return payment
    if (i < attempts - 1) await sleep(interval)
  }
  throw new ApiError(0, 'pay_pending', PENDING)
}

// {payment, pay_params} (from prepay, or from booking.create / careOrders.book) → paid payment.
// Shows the error as a toast unless toast: false; a user cancel shows "已取消支付".
async function payWith({ payment, pay_params: payParams }, { toast = true, poll } = {}) {
  try {
    await requestPayment(payParams)
    return await waitUntilPaid(payment.id, poll)
  } catch (err) {
    if (toast && err instanceof ApiError && !err.toasted) showError(err)
    throw err
  }
}

// Pays an existing unpaid order: prepay, then payWith.
async function payOrder(orderType, orderId, { toast = true, poll } = {}) {
  const result = await prepay(orderType, orderId, { toast })
  return payWith(result, { toast, poll })
}

module.exports = {
  ENDPOINTS, DEV_ONLY_ENDPOINTS, ORDER_TYPES, POLL, prepay, detail, requestPayment, waitUntilPaid,
  payWith, payOrder,
}
