// utils/form.js (the form pages' check / submit / field errors) and utils/images.js.
const { installWx } = require('./helpers/wx')

let env
let form

beforeEach(() => {
  jest.resetModules()
  env = installWx()
  form = require('../utils/form')
})

afterEach(() => jest.restoreAllMocks())

// just enough of a page: data, setData and the check submitForm asks for
function fakePage(errors = {}) {
  const page = {
    data: { submitting: false, errors: {} },
    states: [],
    setData(patch) {
      Object.assign(page.data, patch)
      if ('submitting' in patch) page.states.push(patch.submitting)
    },
    check: () => errors,
  }
  return page
}

const apiError = (details, code = 'validation_error') => Object.assign(new Error('请求参数有误'), { code, details })

test('fieldErrors: the first message of each field; none without details', () => {
  expect(form.fieldErrors(apiError({ text: ['太短', '太长'], stars: '请选择' })))
    .toEqual({ text: '太短', stars: '请选择' })
  expect(form.fieldErrors(new Error('网络异常'))).toEqual({})
  expect(form.fieldErrors(undefined)).toEqual({})
})

test('showFormErrors: each under its field, the first as a toast; nothing when none', () => {
  const page = fakePage()
  expect(form.showFormErrors(page, {})).toBe(false)
  expect(env.toasts).toEqual([])
  expect(form.showFormErrors(page, { text: '请填写说明', stars: '请打分' })).toBe(true)
  expect(page.data.errors).toEqual({ text: '请填写说明', stars: '请打分' })
  expect(env.toasts).toEqual(['请填写说明'])
})

test('submitForm: the check stops it before any request', async () => {
  const page = fakePage({ text: '请填写说明' })
  const send = jest.fn()
  await form.submitForm(page, { send })
  expect(send).not.toHaveBeenCalled()
  expect(page.states).toEqual([])
  expect(env.toasts).toEqual(['请填写说明'])
})

test('submitForm: sends once at a time, with submitting set meanwhile and the old errors cleared', async () => {
  const page = fakePage()
  page.data.errors = { text: '旧的' }
  let finish
  const send = jest.fn(() => new Promise((resolve) => { finish = resolve }))
  const first = form.submitForm(page, { send })
  expect(page.data).toMatchObject({ submitting: true, errors: {} })
  await form.submitForm(page, { send }) // a second tap meanwhile
  expect(send).toHaveBeenCalledTimes(1)
  finish()
  await first
  expect(page.states).toEqual([true, false])
})

test('submitForm: a refusal\'s field errors go under their fields and failed(err) follows', async () => {
  const page = fakePage()
  const failed = jest.fn()
  const err = apiError({ evidence_file_ids: ['文件不存在'] })
  await form.submitForm(page, { send: () => Promise.reject(err), failed })
  expect(page.data.errors).toEqual({ evidence_file_ids: '文件不存在' })
  expect(failed).toHaveBeenCalledWith(err)
  expect(page.data.submitting).toBe(false)
})

test('chooseImages: the chosen temp paths; [] when the chooser is closed', async () => {
  const { chooseImages } = require('../utils/images')
  const asked = []
  wx.chooseMedia = (o) => {
    asked.push(o)
    setTimeout(() => o.success({ tempFiles: [{ tempFilePath: 'wxfile://a.jpg' }, { tempFilePath: 'wxfile://b.jpg' }] }), 0)
  }
  await expect(chooseImages(3)).resolves.toEqual(['wxfile://a.jpg', 'wxfile://b.jpg'])
  expect(asked[0]).toMatchObject({ count: 3, mediaType: ['image'], sizeType: ['compressed'] })
  wx.chooseMedia = (o) => setTimeout(() => o.fail({ errMsg: 'chooseMedia:fail cancel' }), 0)
  await expect(chooseImages(1)).resolves.toEqual([])
})
