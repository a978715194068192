// Membership (会员) and points (积分): the user's level with its progress and privileges, and
// the points balance with what expires soon and the history. Points are spent by passing
// `points` to booking.create() / careOrders.book() (and careOrders.quote() to price them).
const { call } = require('./request')

const ENDPOINTS = {
  membership: ['GET', '/api/v1/me/membership'],
  points: ['GET', '/api/v1/me/points'],
}

// → MyMembership {level, level_name, points, spend_fen, window_days, privileges, next, late_cancels_used, levels}
const membership = (opts) => call(ENDPOINTS.membership, opts)
// query: {page, page_size} (of the history) → MyPoints {balance, expiring_soon, history: {items, total, ...}}
const points = (query, opts) => call(ENDPOINTS.points, { ...opts, query })

module.exports = { ENDPOINTS, membership, points }
