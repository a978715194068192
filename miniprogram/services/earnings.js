// The caregiver's income: entries (newest first), pending/settled totals, last 12 months.
const { call } = require('./request')

const ENDPOINTS = {
  income: ['GET', '/api/v1/caregiver/income'],
}

// query: {month: 'YYYY-MM', status: 'pending' | 'settled', page, page_size}
const income = (query, opts) => call(ENDPOINTS.income, { ...opts, query })

module.exports = { ENDPOINTS, income }
