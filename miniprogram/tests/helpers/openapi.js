// The backend's OpenAPI document (tests/openapi.json, written by
// `cd .. && .venv/bin/python scripts/export_openapi.py miniprogram/tests/openapi.json`) and
// checks against it: does an operation exist, does a request body match its schema.
const fs = require('fs')
const path = require('path')
const Ajv = require('ajv')

const DOCUMENT = path.join(__dirname, '..', 'openapi.json')
const REGENERATE = '.venv/bin/python scripts/export_openapi.py miniprogram/tests/openapi.json'

let cached = null

function loadDocument() {
  if (cached) return cached
  if (!fs.existsSync(DOCUMENT)) {
    throw new Error(`miniprogram/tests/openapi.json is missing: from the repository root run\n  ${REGENERATE}`)
  }
  const doc = JSON.parse(fs.readFileSync(DOCUMENT, 'utf8'))
  const operations = []
  Object.keys(doc.paths).forEach((template) => {
    const regex = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
      .replace(/\{[^}]+\}/g, '[^/]+')}$`)
    Object.keys(doc.paths[template]).forEach((method) => {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) {
        operations.push({ method: method.toUpperCase(), template, regex, op: doc.paths[template][method] })
      }
    })
  })
  cached = { doc, operations, ajv: buildAjv(doc), validators: new Map() }
  return cached
}

// OpenAPI 3.0 schemas are JSON Schema with `nullable`; ajv reads the components under
// their "#/components/schemas/…" refs when the document is added whole.
function buildAjv(doc) {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false })
  ajv.addKeyword({ keyword: 'example' })
  ajv.addSchema(toJsonSchema({ components: doc.components }), 'openapi.json')
  return ajv
}

// nullable: true → also null (ajv's own nullable support needs a `type` beside it, which
// allOf-wrapped refs lack)
function toJsonSchema(node) {
  if (Array.isArray(node)) return node.map(toJsonSchema)
  if (!node || typeof node !== 'object') return node
  const out = {}
  Object.keys(node).forEach((key) => {
    if (key === 'nullable') return
    out[key] = key === '$ref' ? node[key].replace('#/', 'openapi.json#/') : toJsonSchema(node[key])
  })
  if (node.nullable) {
    if (out.enum && !out.enum.includes(null)) out.enum = out.enum.concat([null])
    return { anyOf: [out, { type: 'null' }] }
  }
  return out
}

// The operation a concrete call hits: ('GET', '/api/v1/hospitals/3') or a template
// ('GET', '/api/v1/hospitals/{hospital_id}'); null when the document has none.
function findOperation(method, pathOrTemplate) {
  const { operations } = loadDocument()
  const upper = method.toUpperCase()
  const p = pathOrTemplate.split('?')[0]
  return operations.find((o) => o.method === upper && o.template === p)
    || operations.find((o) => o.method === upper && o.regex.test(p)) || null
}

// Checks a request body against the operation's JSON requestBody schema. Returns
// {valid, errors}; valid when the operation takes no body and none is sent. Throws when the
// operation does not exist.
function validateBody(method, pathOrTemplate, body) {
  const found = findOperation(method, pathOrTemplate)
  if (!found) throw new Error(`${method} ${pathOrTemplate} is not in the API document`)
  const content = found.op.requestBody && found.op.requestBody.content
  const schema = content && content['application/json'] && content['application/json'].schema
  if (!schema) {
    const empty = body === undefined || body === null
      || (typeof body === 'object' && Object.keys(body).length === 0)
    return empty ? { valid: true, errors: [] }
      : { valid: false, errors: [`${found.method} ${found.template} takes no JSON body`] }
  }
  const state = loadDocument()
  const key = `${found.method} ${found.template}`
  if (!state.validators.has(key)) state.validators.set(key, state.ajv.compile(toJsonSchema(schema)))
  const validate = state.validators.get(key)
  const valid = validate(body === undefined ? null : body)
  return {
    valid,
    errors: valid ? [] : validate.errors.map((e) => `${e.instancePath || '(body)'} ${e.message}`),
  }
}

// jest-friendly: throws with the schema errors
function expectValidBody(method, pathOrTemplate, body) {
  const { valid, errors } = validateBody(method, pathOrTemplate, body)
  if (!valid) {
    throw new Error(`${method} ${pathOrTemplate} body does not match the API document:\n  `
      + `${errors.join('\n  ')}\nbody: ${JSON.stringify(body)}`)
  }
}

module.exports = { DOCUMENT, loadDocument, findOperation, validateBody, expectValidBody, toJsonSchema }
