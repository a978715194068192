// The client's API calls against the backend's OpenAPI document (tests/openapi.json).
// Regenerate the document after an API change, from the repository root:
//   .venv/bin/python scripts/export_openapi.py miniprogram/tests/openapi.json
const fs = require('fs')
const path = require('path')
const { loadDocument, findOperation, validateBody, expectValidBody } = require('./helpers/openapi')

const SERVICES = path.join(__dirname, '..', 'services')
const modules = fs.readdirSync(SERVICES).filter((f) => f.endsWith('.js')).sort()

test('tests/openapi.json exists (generate it with scripts/export_openapi.py)', () => {
  expect(() => loadDocument()).not.toThrow()
  expect(Object.keys(loadDocument().doc.paths).length).toBeGreaterThan(50)
})

describe.each(modules)('services/%s', (file) => {
  const mod = require(path.join(SERVICES, file))
  const source = fs.readFileSync(path.join(SERVICES, file), 'utf8')

  test('exports an ENDPOINTS table', () => {
    expect(mod.ENDPOINTS).toEqual(expect.any(Object))
    expect(Object.keys(mod.ENDPOINTS).length).toBeGreaterThan(0)
  })

  test('every ENDPOINTS entry is an operation of the API document (method + path template)', () => {
    const { doc } = loadDocument()
    const missing = Object.entries(mod.ENDPOINTS).filter(([, [method, template]]) => {
      const item = doc.paths[template]
      return !item || !item[method.toLowerCase()]
    }).map(([name, [method, template]]) => `${name}: ${method} ${template}`)
    if (missing.length) {
      throw new Error(`services/${file}: not in tests/openapi.json (wrong path or method, or the `
        + `document is stale — regenerate it):\n  ${missing.join('\n  ')}`)
    }
  })

  test('API paths are written only inside the ENDPOINTS table', () => {
    const block = source.match(/const ENDPOINTS = \{[\s\S]*?\n\}/)
    const inTable = block ? (block[0].match(/'\/api\//g) || []).length : 0
    const inFile = (source.match(/'\/api\//g) || []).length
    expect(inFile).toBe(inTable)
  })
})

test('dev-only endpoints are the backend simulator only', () => {
  const { DEV_ONLY_ENDPOINTS } = require('../services/payments')
  Object.values(DEV_ONLY_ENDPOINTS).forEach(([, p]) => expect(p).toMatch(/^\/_sim\//))
})

describe('validateBody', () => {
  test('accepts a body that matches the requestBody schema ($ref resolved)', () => {
    expect(validateBody('POST', '/api/v1/registrations', { schedule_id: 3, patient_id: 5 }))
      .toEqual({ valid: true, errors: [] })
    expect(() => expectValidBody('POST', '/api/v1/payments/prepay',
      { order_type: 'care_order', order_id: 12 })).not.toThrow()
  })

  test('matches concrete paths to their template', () => {
    expect(findOperation('POST', '/api/v1/care-orders/12/cancel').template)
      .toBe('/api/v1/care-orders/{order_id}/cancel')
    expect(findOperation('POST', '/api/v1/care-orders/quote').template).toBe('/api/v1/care-orders/quote')
  })

  test('rejects missing fields, wrong types, unknown fields and bad enums', () => {
    const result = validateBody('POST', '/api/v1/registrations', { schedule_id: '3' })
    expect(result.valid).toBe(false)
    expect(result.errors.join('\n')).toMatch(/patient_id/)
    expect(validateBody('POST', '/api/v1/registrations', { schedule_id: 3, patient_id: 5, x: 1 }).valid).toBe(false)
    expect(validateBody('POST', '/api/v1/payments/prepay', { order_type: 'taxi', order_id: 1 }).valid).toBe(false)
    expect(() => expectValidBody('POST', '/api/v1/registrations', {})).toThrow(/does not match/)
  })

  test('nested $refs and nullable fields', () => {
    expect(validateBody('POST', '/api/v1/subscriptions',
      { results: [{ template_id: 'tmpl_1', result: 'accept' }] }).valid).toBe(true)
    expect(validateBody('POST', '/api/v1/subscriptions',
      { results: [{ template_id: 'tmpl_1', result: 'maybe' }] }).valid).toBe(false)
    expect(validateBody('POST', '/api/v1/caregiver/care-orders/3/start',
      { latitude: null, longitude: null }).valid).toBe(true)
  })

  test('an operation without a body accepts only no body', () => {
    expect(validateBody('POST', '/api/v1/care-orders/3/confirm', undefined).valid).toBe(true)
    expect(validateBody('POST', '/api/v1/care-orders/3/confirm', { a: 1 }).valid).toBe(false)
  })

  test('an unknown operation throws', () => {
    expect(() => validateBody('POST', '/api/v1/nowhere', {})).toThrow(/not in the API document/)
  })
})
