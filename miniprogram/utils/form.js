// The steps the form pages share: the page's own check, one submission at a time, and the
// server's field errors shown under their fields.

// {field: [message]} (an API error's details) → {field: 'message'}
function fieldErrors(err) {
  const out = {}
  const details = (err && err.details) || {}
  Object.keys(details).forEach((k) => {
    const v = details[k]
    out[k] = Array.isArray(v) ? String(v[0]) : String(v)
  })
  return out
}

// The page's own check found errors: each under its field, the first as a toast too.
// Returns whether there were any.
function showFormErrors(page, errors) {
  const keys = Object.keys(errors)
  if (!keys.length) return false
  page.setData({ errors })
  wx.showToast({ title: errors[keys[0]], icon: 'none' })
  return true
}

// A form page's onSubmit: ignored while one is on its way (data.submitting), stopped by the
// errors of page.check(); send() makes the request and what follows it. A refusal's field
// errors go under their fields (the request wrapper has toasted its message); failed(err)
// may do more.
async function submitForm(page, { send, failed }) {
  if (page.data.submitting) return
  if (showFormErrors(page, page.check())) return
  page.setData({ submitting: true, errors: {} })
  try {
    await send()
  } catch (err) {
    page.setData({ errors: fieldErrors(err) })
    if (failed) await failed(err)
  } finally {
    page.setData({ submitting: false })
  }
}

module.exports = { fieldErrors, showFormErrors, submitForm }
