// 就诊人 and 实名认证 pages (packages/patients): list, add / edit with the server's ID checks,
// delete with a confirm, real-name with the ID photo upload.
const { respond } = require('../helpers/wx')
const { usePageTest } = require('../helpers/page-test')
const F = require('../fixtures/booking')

let env
let load
usePageTest((installed) => { ({ env, load } = installed) })

const input = (field, value) => ({ currentTarget: { dataset: { field } }, detail: { value } })

function recordModals(confirm = true) {
  const modals = []
  jest.spyOn(wx, 'showModal').mockImplementation((options) => {
    modals.push(options)
    setTimeout(() => options.success && options.success({ confirm, cancel: !confirm }), 0)
  })
  return modals
}

function fill(page, values) {
  Object.keys(values).forEach((field) => page.instance.onInput(input(field, values[field])))
}

describe('identity checks (utils/identity.js, as app/common/identity.py)', () => {
  const { idNumberError, parseResidentId, normalizeIdNumber, residentIdCheckChar } = require('../../utils/identity')

  test('the GB 11643 check digit, length, birthday and other documents', () => {
    expect(residentIdCheckChar('11010519491231002')).toBe('X')
    expect(idNumberError('resident_id', F.VALID_ID)).toBe('')
    expect(parseResidentId(F.VALID_ID)).toEqual({ birthday: '1949-12-31', gender: 'female' })
    expect(idNumberError('resident_id', F.WRONG_CHECKSUM_ID)).toBe('身份证号校验失败,请核对后重新输入')
    expect(idNumberError('resident_id', '11010519491231')).toBe('身份证号应为 18 位')
    expect(idNumberError('resident_id', '110105194913310020')).not.toBe('') // month 13
    expect(normalizeIdNumber(' 11010519491231002x ')).toBe(F.VALID_ID)
    expect(idNumberError('passport', 'E1234567')).toBe('')
    expect(idNumberError('passport', 'E12')).toBe('证件号码格式不正确')
  })

  test('a birthday before 1900 or after today is refused even with a right check digit', () => {
    const { residentIdCheckChar: check } = require('../../utils/identity')
    const old = `11010518991231002`
    expect(idNumberError('resident_id', old + check(old))).toBe('身份证号校验失败,请核对后重新输入')
    const future = `11010520991231002`
    expect(idNumberError('resident_id', future + check(future))).toBe('身份证号校验失败,请核对后重新输入')
  })
})

describe('就诊人 packages/patients/list', () => {
  const PAGE = 'packages/patients/list/index'

  test('lists the patients (masked) and opens add / edit', async () => {
    env.backend.on('GET /api/v1/patients', F.page([F.patient(5, '张*'), F.patient(6, '李*', { is_insured: true, gender: 'male', age: 40 })]))
    const page = await load.loadPage(PAGE)
    expect(env.backend.calls[0].query).toEqual({ page: '1', page_size: '20' })
    expect(load.texts(page, '.name')).toEqual(['张*', '李*'])
    expect(load.texts(page, '.facts')).toEqual(['女 · 76岁 · 138****0000', '男 · 40岁 · 138****0000'])
    expect(load.text(page, '.id-number')).toBe('居民身份证 1101**********002X')
    expect(load.texts(page, '.badge')).toEqual(['医保'])
    expect(load.text(page, '.count')).toBe('已添加 2 位就诊人(最多 8 位)')

    await load.tap(page, '.edit')
    await load.tap(page, '.add')
    expect(env.navigations).toEqual(['/packages/patients/edit/index?id=5', '/packages/patients/edit/index'])
  })

  test('delete asks first, then deletes and reloads', async () => {
    const modals = recordModals(true)
    env.backend.on('GET /api/v1/patients', F.page([F.patient(5, '张*')]))
    env.backend.on('DELETE /api/v1/patients/{patient_id}', respond(204, null))
    const page = await load.loadPage(PAGE)
    env.backend.on('GET /api/v1/patients', F.page([]))
    await load.tap(page, '.delete')
    await load.flush()
    expect(modals[0].content).toBe('确定删除就诊人「张*」吗?已有的挂号订单不受影响。')
    expect(env.backend.callsTo('DELETE /api/v1/patients/{patient_id}')[0].path).toBe('/api/v1/patients/5')
    expect(env.toasts).toEqual(['已删除'])
    expect(load.text(page, '.message')).toBe('还没有就诊人,添加后即可预约挂号')
  })

  test('declining the confirm deletes nothing', async () => {
    recordModals(false)
    env.backend.on('GET /api/v1/patients', F.page([F.patient(5, '张*')]))
    const page = await load.loadPage(PAGE)
    await load.tap(page, '.delete')
    await load.flush()
    expect(env.backend.callsTo('DELETE /api/v1/patients/{patient_id}')).toHaveLength(0)
  })

  test('empty: 添加就诊人; a load error: the error state', async () => {
    env.backend.on('GET /api/v1/patients', F.page([]))
    const page = await load.loadPage(PAGE)
    await load.tap(page, '.action')
    expect(env.navigations).toEqual(['/packages/patients/edit/index'])
    env.backend.on('GET /api/v1/patients', respond(503, { code: 'service_unavailable', message: '服务繁忙,请稍后再试' }))
    await page.instance.load()
    expect(load.text(page, '.message')).toBe('服务繁忙,请稍后再试')
  })
})

describe('添加 / 编辑就诊人 packages/patients/edit', () => {
  const PAGE = 'packages/patients/edit/index'

  test('a wrong ID check digit is refused before any request', async () => {
    const page = await load.loadPage(PAGE)
    fill(page, { name: '张三', id_number: F.WRONG_CHECKSUM_ID, phone: '13800000000' })
    await load.tap(page, '.save')
    expect(env.backend.calls).toHaveLength(0)
    expect(load.text(page, '.error-id_number')).toBe('身份证号校验失败,请核对后重新输入')
    expect(env.toasts).toEqual(['身份证号校验失败,请核对后重新输入'])
  })

  test('name, phone (11-digit mobile) and contact phone are checked as the server does', async () => {
    const page = await load.loadPage(PAGE)
    fill(page, { name: '张', id_number: F.VALID_ID, phone: '1380000000', contact_phone: '23800000000' })
    await load.tap(page, '.save')
    expect(env.backend.calls).toHaveLength(0)
    expect(load.text(page, '.error-name')).toBe('姓名至少 2 个字')
    expect(load.text(page, '.error-phone')).toBe('手机号格式不正确')
    expect(load.text(page, '.error-contact_phone')).toBe('手机号格式不正确')
    expect(load.query(page, '.error-id_number')).toBeNull()
    // typing again clears that field's error
    page.instance.onInput(input('phone', '13800000000'))
    await load.flush()
    expect(load.query(page, '.error-phone')).toBeNull()
  })

  test('adds a patient: a resident ID’s birthday and gender are derived, the body fits PatientCreate', async () => {
    env.backend.on('POST /api/v1/patients', respond(201, F.patient(7, '张*')))
    const back = jest.spyOn(wx, 'navigateBack')
    const page = await load.loadPage(PAGE)
    fill(page, { name: ' 张三 ', id_number: '11010519491231002x', phone: '13800000000', medical_card_no: 'A-123' })
    page.instance.onInsured({ detail: { value: true } })
    await load.flush()
    expect(load.text(page, '.derived')).toBe('女 · 1949-12-31')
    await load.tap(page, '.save')
    expect(env.backend.callsTo('POST /api/v1/patients')[0].data).toEqual({
      name: '张三', id_type: 'resident_id', id_number: F.VALID_ID, phone: '13800000000', is_insured: true,
      medical_card_no: 'A-123', contact_name: null, contact_phone: null, condition: null, hospital_name: null,
      ward: null, bed_no: null,
    })
    expect(env.toasts).toEqual(['已保存'])
    expect(back).toHaveBeenCalled()
  })

  test('another document needs gender and birthday', async () => {
    env.backend.on('POST /api/v1/patients', respond(201, F.patient(7, 'J*', { id_type: 'passport' })))
    const page = await load.loadPage(PAGE)
    page.instance.onIdType({ detail: { value: '1' } }) // 护照
    fill(page, { name: 'John Smith', id_number: 'e1234567', phone: '13800000000' })
    await load.tap(page, '.save')
    expect(env.backend.calls).toHaveLength(0)
    expect(load.text(page, '.error-gender')).toBe('请选择性别')
    expect(load.text(page, '.error-birthday')).toBe('请填写出生日期')

    await load.tap(page, '.gender')
    page.instance.onBirthday({ detail: { value: '1990-05-01' } })
    await load.tap(page, '.save')
    expect(env.backend.callsTo('POST /api/v1/patients')[0].data).toMatchObject({
      id_type: 'passport', id_number: 'E1234567', gender: 'male', birthday: '1990-05-01' })
  })

  test('the server’s field errors are shown under their fields', async () => {
    env.backend.on('POST /api/v1/patients', respond(422, {
      code: 'id_number_mismatch', message: '出生日期与身份证号不一致', details: { birthday: ['出生日期与身份证号不一致'] } }))
    const page = await load.loadPage(PAGE)
    page.instance.onIdType({ detail: { value: '1' } })
    fill(page, { name: '张三', id_number: 'E1234567', phone: '13800000000' })
    await load.tap(page, '.gender')
    page.instance.onBirthday({ detail: { value: '1990-05-01' } })
    await load.tap(page, '.save')
    expect(load.text(page, '.error-birthday')).toBe('出生日期与身份证号不一致')
    expect(env.toasts).toEqual(['出生日期与身份证号不一致'])
  })

  test('a duplicate or the limit: the server message', async () => {
    env.backend.on('POST /api/v1/patients', respond(409, { code: 'patient_limit_reached', message: '每个账号最多添加 8 位就诊人' }))
    const page = await load.loadPage(PAGE)
    fill(page, { name: '张三', id_number: F.VALID_ID, phone: '13800000000' })
    await load.tap(page, '.save')
    expect(env.toasts).toEqual(['每个账号最多添加 8 位就诊人'])
  })

  test('edits: the full data from /edit fills the form, PATCH sends the changes', async () => {
    env.backend.on('GET /api/v1/patients/{patient_id}/edit', F.patient(5, '张三', {
      id_number: F.VALID_ID, phone: '13800000000', contact_name: '李四', contact_phone: '13900000000' }))
    env.backend.on('PATCH /api/v1/patients/{patient_id}', F.patient(5, '张三'))
    const page = await load.loadPage(PAGE, { id: '5' })
    expect(env.backend.calls[0].path).toBe('/api/v1/patients/5/edit')
    expect(page.instance.data.form).toMatchObject({ name: '张三', id_number: F.VALID_ID, phone: '13800000000', contact_name: '李四' })
    expect(load.text(page, '.derived')).toBe('女 · 1949-12-31')
    fill(page, { phone: '13700000000' })
    await load.tap(page, '.save')
    const patch = env.backend.callsTo('PATCH /api/v1/patients/{patient_id}')[0]
    expect(patch.path).toBe('/api/v1/patients/5')
    expect(patch.data).toMatchObject({ name: '张三', id_type: 'resident_id', id_number: F.VALID_ID, phone: '13700000000',
      contact_name: '李四', contact_phone: '13900000000' })
    expect(patch.data.birthday).toBeUndefined()
  })
})

describe('实名认证 packages/patients/real-name', () => {
  const PAGE = 'packages/patients/real-name/index'

  function choosePhoto(path = 'wxfile://tmp/id.jpg') {
    wx.chooseMedia = jest.fn((options) => setTimeout(() => options.success({ tempFiles: [{ tempFilePath: path, size: 2048 }], type: 'image' }), 0))
  }

  test('not submitted yet: 未认证 and the form; upload the photo, then submit', async () => {
    env.backend.on('GET /api/v1/me/real-name', respond(404, { code: 'real_name_not_submitted', message: '尚未提交实名认证' }))
    env.backend.on('POST /api/v1/files', respond(201, F.file(31)))
    env.backend.on('POST /api/v1/me/real-name', respond(201, F.realName('pending')))
    choosePhoto()
    const page = await load.loadPage(PAGE)
    expect(env.toasts).toEqual([])
    expect(load.text(page, '.tag')).toBe('未认证')
    expect(load.query(page, '.submit')).toBeTruthy()

    await load.tap(page, '.photo')
    const upload = env.backend.callsTo('POST /api/v1/files')[0]
    expect(upload.data).toEqual({ purpose: 'id_photo' })
    expect(upload.filePath).toBe('wxfile://tmp/id.jpg')

    fill(page, { name: '张三', id_number: '11010519491231002x' })
    await load.tap(page, '.submit')
    expect(env.backend.callsTo('POST /api/v1/me/real-name')[0].data).toEqual({
      name: '张三', id_type: 'resident_id', id_number: F.VALID_ID, id_photo_file_id: 31 })
    expect(env.toasts).toEqual(['已提交审核'])
    expect(load.text(page, '.tag')).toBe('审核中')
    expect(load.query(page, '.submit')).toBeNull()
    expect(load.text(page, '.fact-name')).toBe('张三')
  })

  test('a wrong check digit or no photo is refused before any request', async () => {
    env.backend.on('GET /api/v1/me/real-name', respond(404, { code: 'real_name_not_submitted', message: '尚未提交实名认证' }))
    const page = await load.loadPage(PAGE)
    fill(page, { name: '张三', id_number: F.WRONG_CHECKSUM_ID })
    await load.tap(page, '.submit')
    expect(env.backend.calls).toHaveLength(1) // only the GET
    expect(load.text(page, '.error-id_number')).toBe('身份证号校验失败,请核对后重新输入')
    expect(load.text(page, '.error-photo')).toBe('请上传证件照片')
  })

  test('rejected: the reason and the form again; the server’s field errors shown', async () => {
    env.backend.on('GET /api/v1/me/real-name', F.realName('rejected'))
    env.backend.on('POST /api/v1/files', respond(201, F.file(32)))
    env.backend.on('POST /api/v1/me/real-name', respond(422, {
      code: 'invalid_id_number', message: '身份证号校验失败,请核对后重新输入', details: { id_number: ['身份证号校验失败,请核对后重新输入'] } }))
    choosePhoto()
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.tag')).toBe('未通过')
    expect(load.text(page, '.reject-reason')).toBe('未通过原因:照片不清晰')
    await load.tap(page, '.photo')
    fill(page, { name: '张三', id_number: F.VALID_ID })
    await load.tap(page, '.submit')
    expect(load.text(page, '.error-id_number')).toBe('身份证号校验失败,请核对后重新输入')
    expect(env.toasts).toEqual(['身份证号校验失败,请核对后重新输入'])
  })

  test('verified: the facts, no form', async () => {
    env.backend.on('GET /api/v1/me/real-name', F.realName('verified'))
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.tag')).toBe('已认证')
    expect(load.text(page, '.fact-id')).toBe('1101**********002X')
    expect(load.query(page, '.submit')).toBeNull()
  })

  test('an upload refused by the server shows its message and keeps no photo', async () => {
    env.backend.on('GET /api/v1/me/real-name', respond(404, { code: 'real_name_not_submitted', message: '尚未提交实名认证' }))
    env.backend.on('POST /api/v1/files', respond(413, { code: 'file_too_large', message: '文件不能超过 10 MB' }))
    choosePhoto()
    const page = await load.loadPage(PAGE)
    await load.tap(page, '.photo')
    expect(env.toasts).toEqual(['文件不能超过 10 MB'])
    expect(load.query(page, '.photo-image')).toBeNull()
  })
})
