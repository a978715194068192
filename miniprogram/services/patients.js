// The account's patients (就诊人). detail() is masked; editView() has the full data for the
// edit form.
const { call } = require('./request')

const ENDPOINTS = {
  list: ['GET', '/api/v1/patients'],
  create: ['POST', '/api/v1/patients'],
  detail: ['GET', '/api/v1/patients/{patient_id}'],
  editView: ['GET', '/api/v1/patients/{patient_id}/edit'],
  update: ['PATCH', '/api/v1/patients/{patient_id}'],
  remove: ['DELETE', '/api/v1/patients/{patient_id}'],
}

const list = (query, opts) => call(ENDPOINTS.list, { ...opts, query })
const create = (data, opts) => call(ENDPOINTS.create, { ...opts, data })
const detail = (id, opts) => call(ENDPOINTS.detail, { ...opts, params: { patient_id: id } })
const editView = (id, opts) => call(ENDPOINTS.editView, { ...opts, params: { patient_id: id } })
const update = (id, data, opts) => call(ENDPOINTS.update, { ...opts, params: { patient_id: id }, data })
const remove = (id, opts) => call(ENDPOINTS.remove, { ...opts, params: { patient_id: id } })

module.exports = { ENDPOINTS, list, create, detail, editView, update, remove }
