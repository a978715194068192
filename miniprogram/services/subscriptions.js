// Subscribe messages: ask the user (wx.requestSubscribeMessage) for the templates of some
// events, then report the answers (POST /api/v1/subscriptions) so the server knows how many
// pushes each template has left. Must run from a tap handler (WeChat's rule).
const { call } = require('./request')

const ENDPOINTS = {
  templates: ['GET', '/api/v1/subscriptions'],
  report: ['POST', '/api/v1/subscriptions'],
}

const ANSWERS = ['accept', 'reject', 'ban', 'filter']
const MAX_TEMPLATES = 3 // WeChat shows at most 3 templates per prompt

const templates = async (opts) => (await call(ENDPOINTS.templates, opts)).items
const report = (results, opts) => call(ENDPOINTS.report, { ...opts, data: { results } })

function requestSubscribe(tmplIds) {
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds,
      success: resolve,
      fail: () => resolve(null), // refused or unsupported: booking goes on without it
    })
  })
}

// The template list, fetched ahead (prefetch() in the page's onLoad): WeChat opens the
// prompt only when wx.requestSubscribeMessage runs from the tap itself, so subscribe() must
// not wait for the network first.
let cached = null

function prefetch() {
  return templates({ toast: false }).then((items) => { cached = items; return items })
    .catch(() => null)
}

// events: e.g. ['registration_booked']; only templates that push one of them are asked for.
// Never rejects: a subscription is a nicety, not a step the user can fail. Without the list
// (prefetch not done or failed) there is no prompt this time, rather than one WeChat refuses.
function subscribe(events) {
  if (!cached) {
    prefetch()
    return Promise.resolve([])
  }
  const wanted = cached.filter((t) => !events || t.events.some((e) => events.includes(e)))
  const ids = wanted.slice(0, MAX_TEMPLATES).map((t) => t.template_id)
  if (!ids.length) return Promise.resolve([])
  return requestSubscribe(ids).then((answers) => {
    if (!answers) return []
    const results = ids.filter((id) => ANSWERS.includes(answers[id]))
      .map((id) => ({ template_id: id, result: answers[id] }))
    return results.length ? report(results, { toast: false }).then(() => results) : results
  }).catch(() => [])
}

// tests: forget the fetched list
function reset() { cached = null }

module.exports = { ENDPOINTS, templates, report, prefetch, subscribe, reset }
