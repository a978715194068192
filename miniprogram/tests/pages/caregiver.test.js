// The caregiver pages (packages/caregiver): apply, profile, qualifications, prices,
// availability, inbox, service, income.
const { installWx, respond } = require('../helpers/wx')
const C = require('../fixtures/caregiver')

let env
let load
beforeEach(() => {
  jest.resetModules()
  env = installWx()
  load = require('../helpers/load')
  // the camera roll: one picked image per call
  global.wx.chooseMedia = (options) => setTimeout(() => options.success({
    tempFiles: Array.from({ length: Math.min(options.count, 1) }, (x, i) => ({ tempFilePath: `/tmp/pick-${i}.jpg` })),
  }), 0)
  global.wx.getLocation = (options) => setTimeout(() => options.success({ latitude: 39.9, longitude: 116.4 }), 0)
})
afterEach(() => {
  jest.restoreAllMocks()
  env.backend.check()
})

// types into an input / textarea (found deep) and lets the handlers run
async function type(page, selector, value, index = 0) {
  const node = load.queryAll(page, selector)[index]
  if (!node) throw new Error(`nothing matches ${selector}`)
  node.dispatchEvent('input', { detail: { value } })
  await load.flush()
}

// a picker's change event
async function pick(page, selector, value, index = 0) {
  const node = load.queryAll(page, selector)[index]
  if (!node) throw new Error(`nothing matches ${selector}`)
  node.dispatchEvent('change', { detail: { value } })
  await load.flush()
}

async function tapNth(page, selector, index) {
  const node = load.queryAll(page, selector)[index]
  if (!node) throw new Error(`nothing matches ${selector} [${index}]`)
  node.dispatchEvent('tap')
  await load.flush()
}

function applyBackend({ profile = null, user = C.user() } = {}) {
  env.backend
    .on('GET /api/v1/caregiver/me', profile ? profile : respond(404, { code: 'caregiver_not_found', message: '还不是护工' }))
    .on('GET /api/v1/me', user)
    .on('GET /api/v1/caregiver-skills', C.skills)
    .on('GET /api/v1/hospitals', C.page(C.hospitals))
}

describe('apply', () => {
  test('a new applicant fills the form and creates the application', async () => {
    applyBackend()
    env.backend.on('POST /api/v1/files', respond(201, C.file(31)))
    env.backend.on('POST /api/v1/caregiver/me', (req) => respond(201, C.profile('draft', { missing_qualifications: ['id_card', 'health_certificate'], prices: [] })))
    const page = await load.loadPage('packages/caregiver/apply/index')
    expect(load.text(page, '.phone')).toBe('138****0001')
    expect(load.texts(page, '.skill')).toEqual(['卧床护理', '喂食', '康复训练'])

    await type(page, '.name', '赵阿姨')
    await tapNth(page, '.gender', 1)
    await pick(page, '.birth-picker', '1975-05-01')
    await type(page, '.years', '8')
    await pick(page, '.city-picker', '0') // 北京市
    expect(load.texts(page, '.district')).toEqual(['东城区', '西城区'])
    expect(load.texts(page, '.hospital')).toEqual(['京华协和医院', '北京西城仁济医院'])
    await tapNth(page, '.district', 0)
    await tapNth(page, '.hospital', 1)
    await tapNth(page, '.skill', 0)
    await tapNth(page, '.skill', 2)
    await type(page, '.bio', '耐心细致')
    await load.tap(page, '.add-history')
    await type(page, '.employer', '京华协和医院')
    await type(page, '.role', '护工')
    await pick(page, '.start-picker', '2015-03')
    await load.tap(page, '.photo-state')
    await load.tap(page, '.save')

    const [call] = env.backend.callsTo('POST /api/v1/caregiver/me')
    expect(call.data).toEqual({
      name: '赵阿姨', gender: 'female', birth_date: '1975-05-01', years_experience: 8,
      city_code: '110100', district_codes: ['110101'], hospital_ids: [2], skills: ['bed_care', 'rehab'],
      bio: '耐心细致', work_history: [{ start: '2015-03', end: null, employer: '京华协和医院', role: '护工' }],
      photo_file_id: 31,
    })
    expect(env.backend.callsTo('POST /api/v1/files')[0].data).toEqual({ purpose: 'attachment' })
    // the checklist for submitting appears
    expect(load.text(page, '.check-caregiverQualifications .cell-desc')).toContain('身份证、健康证')
    expect(load.text(page, '.check-caregiverPrices .cell-desc')).toBe('至少设置一项')
  })
})

describe('apply (more)', () => {
  test('without a bound phone the form is refused before any request; binding calls the API', async () => {
    applyBackend({ user: C.user({ phone: null, phone_bound: false }) })
    env.backend.on('POST /api/v1/auth/phone', C.user())
    const page = await load.loadPage('packages/caregiver/apply/index')
    expect(load.text(page, '.unbound')).toBe('未绑定(申请前须绑定)')
    await type(page, '.name', '赵阿姨')
    await tapNth(page, '.skill', 0)
    await load.tap(page, '.save')
    expect(env.toasts).toEqual(['请先绑定手机号'])
    expect(env.backend.callsTo('POST /api/v1/caregiver/me')).toHaveLength(0)

    page.instance.onPhone({ detail: { code: 'phone-code' } })
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/auth/phone')[0].data).toEqual({ code: 'phone-code' })
    expect(load.text(page, '.phone')).toBe('138****0001')
    // what was typed stays
    expect(load.query(page, '.profile-form').instance.data.form.name).toBe('赵阿姨')
  })

  test('bad input shows the server-like messages and sends nothing', async () => {
    applyBackend()
    const page = await load.loadPage('packages/caregiver/apply/index')
    await type(page, '.name', '赵')
    await pick(page, '.birth-picker', '2015-01-01')
    await type(page, '.years', '3')
    await load.tap(page, '.save')
    expect(load.text(page, '.error-name')).toBe('姓名应为 2–32 个字')
    expect(load.text(page, '.error-birth_date')).toBe('护工年龄须在 18 到 70 岁之间')
    expect(load.text(page, '.error-skills')).toBe('请至少选择一项技能')
    expect(env.backend.callsTo('POST /api/v1/caregiver/me')).toHaveLength(0)

    await pick(page, '.birth-picker', '2000-01-01')
    await type(page, '.name', '赵阿姨')
    await tapNth(page, '.skill', 0)
    await type(page, '.years', '20')
    await load.tap(page, '.save')
    expect(load.text(page, '.error-years_experience')).toMatch(/^从业年限不能超过 \d+ 年/)
    expect(env.backend.callsTo('POST /api/v1/caregiver/me')).toHaveLength(0)
  })

  test('the server\'s field errors are shown on their fields', async () => {
    applyBackend()
    env.backend.on('POST /api/v1/caregiver/me', respond(422, {
      code: 'hospital_outside_city', message: '所选医院不在服务城市内',
      details: { hospital_ids: ['以下医院不在服务城市内:2'] },
    }))
    const page = await load.loadPage('packages/caregiver/apply/index')
    await type(page, '.name', '赵阿姨')
    await tapNth(page, '.skill', 1)
    await pick(page, '.city-picker', '0')
    await tapNth(page, '.hospital', 1)
    await load.tap(page, '.save')
    expect(env.backend.callsTo('POST /api/v1/caregiver/me')[0].data).toEqual({
      name: '赵阿姨', skills: ['feeding'], years_experience: 0, bio: null, work_history: [],
      city_code: '110100', district_codes: [], hospital_ids: [2],
    })
    expect(load.text(page, '.error-hospital_ids')).toBe('以下医院不在服务城市内:2')
    expect(env.toasts).toEqual(['所选医院不在服务城市内'])
  })

  test('a draft is edited with PATCH and submitted for review', async () => {
    applyBackend({ profile: C.profile('draft') })
    env.backend.on('PATCH /api/v1/caregiver/me', (req) => C.profile('draft', { name: req.data.name }))
    env.backend.on('POST /api/v1/caregiver/me/submit', C.profile('pending_review', { submitted_at: '2026-01-05T02:00:00+00:00' }))
    const page = await load.loadPage('packages/caregiver/apply/index')
    expect(load.query(page, '.name')).not.toBeNull()
    expect(load.texts(page, '.skill.chip--on')).toEqual(['卧床护理'])
    await type(page, '.name', '赵春梅')
    await load.tap(page, '.save')
    const patch = env.backend.callsTo('PATCH /api/v1/caregiver/me')[0].data
    expect(patch).toMatchObject({ name: '赵春梅', gender: 'female', birth_date: '1975-05-01', city_code: '110100', district_codes: ['110101'], hospital_ids: [1], skills: ['bed_care'], years_experience: 8, photo_file_id: 31 })
    expect(env.toasts).toEqual(['已保存'])

    await load.tap(page, '.submit')
    expect(env.backend.callsTo('POST /api/v1/caregiver/me/submit')).toHaveLength(1)
    expect(load.text(page, '.pending')).toBe('资料已于 2026-01-05 10:00 提交,平台审核中,审核结果将通过消息通知您。')
    expect(load.query(page, '.save')).toBeNull()
  })

  test('submitting without the required documents says which are missing', async () => {
    applyBackend({ profile: C.profile('rejected', { reject_reason: '照片不清晰', missing_qualifications: ['health_certificate'] }) })
    env.backend.on('POST /api/v1/caregiver/me/submit', respond(422, {
      code: 'qualifications_missing', message: '请先上传必备证件', details: { missing: ['health_certificate'] },
    }))
    const page = await load.loadPage('packages/caregiver/apply/index')
    expect(load.text(page, '.reason')).toBe('驳回原因:照片不清晰')
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['请先上传:健康证'])
    await load.tap(page, '.check-caregiverQualifications')
    expect(env.navigations).toEqual(['/packages/caregiver/qualifications/index'])
  })

  test('an incomplete profile shows the fields the server names', async () => {
    applyBackend({ profile: C.profile('draft', { photo_file_id: null, prices: [] }) })
    env.backend.on('POST /api/v1/caregiver/me/submit', respond(422, {
      code: 'profile_incomplete', message: '资料不完整,请补充后再提交',
      details: { photo_file_id: ['请上传照片'], prices: ['请至少设置一项服务价格'] },
    }))
    const page = await load.loadPage('packages/caregiver/apply/index')
    await load.tap(page, '.submit')
    expect(load.text(page, '.error-photo_file_id')).toBe('请上传照片')
    expect(env.toasts).toEqual(['请至少设置一项服务价格'])
  })

  test('an approved caregiver is led to the profile page', async () => {
    applyBackend({ profile: C.profile('approved') })
    const page = await load.loadPage('packages/caregiver/apply/index')
    expect(load.query(page, '.profile-form')).toBeNull()
    await load.tap(page, '.to-profile')
    expect(env.navigations).toEqual(['/packages/caregiver/profile/index'])
  })

  test('a failed load shows the error state', async () => {
    applyBackend()
    env.backend.on('GET /api/v1/caregiver-skills', respond(500, { code: 'internal_error', message: '服务器开小差了' }))
    const page = await load.loadPage('packages/caregiver/apply/index')
    expect(load.text(page, '.message')).toBe('服务器开小差了')
  })
})

describe('profile', () => {
  const revision = { id: 3, changes: { name: '赵春梅', skills: ['bed_care', 'feeding'] }, created_at: '2026-01-05T02:00:00+00:00' }
  function profileBackend(profile) {
    env.backend
      .on('GET /api/v1/caregiver/me', profile)
      .on('GET /api/v1/caregiver-skills', C.skills)
      .on('GET /api/v1/hospitals', C.page(C.hospitals))
  }

  test('shows the profile and the pending revision, which can be withdrawn', async () => {
    profileBackend(C.profile('approved', { pending_revision: revision }))
    env.backend.on('DELETE /api/v1/caregiver/me/revision', respond(204, null))
    const page = await load.loadPage('packages/caregiver/profile/index')
    expect(load.text(page, '.cg-name')).toBe('赵阿姨')
    expect(load.texts(page, '.summary .cell-value')).toEqual(
      ['赵阿姨', '女', '1975-05-01', '8 年', '北京市', '京华协和医院', '卧床护理', '耐心细致'])
    expect(load.text(page, '.revision-title')).toBe('资料修改审核中')
    expect(load.text(page, '.revision-fields')).toBe('修改项:姓名、技能')
    env.backend.on('GET /api/v1/caregiver/me', C.profile('approved'))
    await load.tap(page, '.withdraw')
    expect(env.backend.callsTo('DELETE /api/v1/caregiver/me/revision')).toHaveLength(1)
    expect(load.query(page, '.revision')).toBeNull()
    expect(env.toasts).toEqual(['已撤回修改'])
  })

  test('an edit goes to review: PATCH with the form, and the revision status shows', async () => {
    profileBackend(C.profile('approved'))
    env.backend.on('PATCH /api/v1/caregiver/me', C.profile('approved', { pending_revision: { ...revision, changes: { name: '赵春梅' } } }))
    const page = await load.loadPage('packages/caregiver/profile/index')
    expect(load.query(page, '.profile-form')).toBeNull()
    await load.tap(page, '.edit')
    await type(page, '.name', '赵春梅')
    await load.tap(page, '.save')
    expect(env.backend.callsTo('PATCH /api/v1/caregiver/me')[0].data).toMatchObject({ name: '赵春梅', skills: ['bed_care'] })
    expect(env.toasts).toEqual(['修改已提交,审核通过后生效'])
    expect(load.text(page, '.revision-fields')).toBe('修改项:姓名')
  })

  test('a refused edit shows the server message on the field', async () => {
    profileBackend(C.profile('approved'))
    env.backend.on('PATCH /api/v1/caregiver/me', respond(422, {
      code: 'unknown_skill', message: '技能不在可选范围内:feeding', details: { skills: ['技能不在可选范围内:feeding'] },
    }))
    const page = await load.loadPage('packages/caregiver/profile/index')
    await load.tap(page, '.edit')
    await tapNth(page, '.skill', 1)
    await load.tap(page, '.save')
    expect(load.text(page, '.error-skills')).toBe('技能不在可选范围内:feeding')
  })

  test('not a caregiver: the empty state leads to the application', async () => {
    profileBackend(respond(404, { code: 'caregiver_not_found', message: '护工不存在' }))
    const page = await load.loadPage('packages/caregiver/profile/index')
    expect(load.text(page, '.message')).toBe('您还不是护工,请先提交入驻申请')
    await load.tap(page, '.action')
    expect(env.navigations).toEqual(['/packages/caregiver/apply/index'])
  })
})

describe('qualifications', () => {
  const { day } = require('../../utils/format')
  const shift = (n) => {
    const [y, m, d] = day().split('-').map(Number)
    return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10)
  }

  test('lists documents with status, reject reason and expiry warnings', async () => {
    env.backend.on('GET /api/v1/caregiver/me/qualifications', C.page([
      C.qualification(1, 'id_card', 'approved', { expires_on: null }),
      C.qualification(2, 'health_certificate', 'approved', { expires_on: shift(10) }),
      C.qualification(3, 'nursing_certificate', 'rejected', { reject_reason: '照片模糊', expires_on: shift(-3), expired: true }),
    ]))
    const page = await load.loadPage('packages/caregiver/qualifications/index')
    expect(load.texts(page, '.qualification .title')).toEqual(['身份证', '健康证', '护理资格证'])
    expect(load.texts(page, '.tag')).toEqual(['已通过', '已通过', '已驳回'])
    expect(load.texts(page, '.expiry')).toEqual([
      '长期有效', `10 天后到期(${shift(10)}),请及时更新`, `已于 ${shift(-3)} 过期,请上传新证件`])
    expect(load.text(page, '.reject')).toBe('驳回原因:照片模糊')
    // approved ones cannot be deleted
    expect(load.queryAll(page, '.remove')).toHaveLength(1)
  })

  test('uploading an ID card: a bad number is refused before any request, a good one is sent', async () => {
    env.backend.on('GET /api/v1/caregiver/me/qualifications', C.page([]))
    env.backend.on('POST /api/v1/files', respond(201, C.file(41, { purpose: 'qualification' })))
    env.backend.on('POST /api/v1/caregiver/me/qualifications', respond(201, C.qualification(5, 'id_card', 'pending')))
    const page = await load.loadPage('packages/caregiver/qualifications/index')
    await load.tap(page, '.action') // the empty state's 上传证件
    await pick(page, '.kind-picker', '0')
    await type(page, '.number', '110105194912310021')
    await load.tap(page, '.add-photo')
    await load.tap(page, '.long-term')
    await load.tap(page, '.save')
    expect(load.text(page, '.error-number')).toBe('身份证号校验失败,请核对后重新输入')
    expect(env.backend.callsTo('POST /api/v1/caregiver/me/qualifications')).toHaveLength(0)

    await type(page, '.number', '11010519491231002x')
    env.backend.on('GET /api/v1/caregiver/me/qualifications', C.page([C.qualification(5, 'id_card', 'pending')]))
    await load.tap(page, '.save')
    expect(env.backend.callsTo('POST /api/v1/files')[0].data).toEqual({ purpose: 'qualification' })
    expect(env.backend.callsTo('POST /api/v1/caregiver/me/qualifications')[0].data).toEqual({
      kind: 'id_card', number: '11010519491231002X', file_ids: [41], issued_on: null, expires_on: null, issuer: null,
    })
    expect(load.texts(page, '.tag')).toEqual(['待审核'])
  })

  test('a certificate needs an expiry date; server conflicts are shown', async () => {
    env.backend.on('GET /api/v1/caregiver/me/qualifications', C.page([]))
    env.backend.on('POST /api/v1/files', respond(201, C.file(42, { purpose: 'qualification' })))
    env.backend.on('POST /api/v1/caregiver/me/qualifications', respond(409, {
      code: 'qualification_already_pending', message: '已有同类证件正在审核中,请勿重复提交',
    }))
    const page = await load.loadPage('packages/caregiver/qualifications/index')
    await load.tap(page, '.action')
    await pick(page, '.kind-picker', '2')
    await type(page, '.number', 'JK-2024-001')
    await load.tap(page, '.add-photo')
    await load.tap(page, '.save')
    expect(load.text(page, '.error-expires_on')).toBe('该证件需填写有效期截止日期')
    expect(env.backend.callsTo('POST /api/v1/caregiver/me/qualifications')).toHaveLength(0)

    await pick(page, '.expires-picker', shift(200))
    await load.tap(page, '.save')
    expect(env.backend.callsTo('POST /api/v1/caregiver/me/qualifications')[0].data).toEqual({
      kind: 'health_certificate', number: 'JK-2024-001', file_ids: [42], issued_on: null, expires_on: shift(200), issuer: null,
    })
    expect(env.toasts).toEqual(['该证件需填写有效期截止日期', '已有同类证件正在审核中,请勿重复提交'])
  })

  test('a rejected document is corrected with PATCH; one not approved can be deleted', async () => {
    env.backend.on('GET /api/v1/caregiver/me/qualifications', C.page([
      C.qualification(3, 'nursing_certificate', 'rejected', { reject_reason: '照片模糊' }),
    ]))
    env.backend.on('GET /api/v1/caregiver/me/qualifications/{qualification_id}',
      C.qualification(3, 'nursing_certificate', 'rejected', { number: 'HL-2020-88', expires_on: shift(300) }))
    env.backend.on('PATCH /api/v1/caregiver/me/qualifications/{qualification_id}', C.qualification(3, 'nursing_certificate', 'pending'))
    env.backend.on('DELETE /api/v1/caregiver/me/qualifications/{qualification_id}', respond(204, null))
    env.backend.on('POST /api/v1/files', respond(201, C.file(43, { purpose: 'qualification' })))
    const page = await load.loadPage('packages/caregiver/qualifications/index')
    await load.tap(page, '.fix')
    expect(env.backend.callsTo('GET /api/v1/caregiver/me/qualifications/{qualification_id}')[0].path)
      .toBe('/api/v1/caregiver/me/qualifications/3')
    await load.tap(page, '.add-photo')
    await load.tap(page, '.save')
    expect(env.backend.callsTo('PATCH /api/v1/caregiver/me/qualifications/{qualification_id}')[0].data).toEqual({
      number: 'HL-2020-88', file_ids: [41, 43], issued_on: '2024-01-01', expires_on: shift(300), issuer: null, title: '护理资格证',
    })
    await load.tap(page, '.remove')
    expect(env.backend.callsTo('DELETE /api/v1/caregiver/me/qualifications/{qualification_id}')[0].path)
      .toBe('/api/v1/caregiver/me/qualifications/3')
  })
})

describe('prices', () => {
  function pricesBackend() {
    env.backend
      .on('GET /api/v1/care-types', C.careTypes)
      .on('GET /api/v1/caregiver/me/prices', { prices: [C.price('full_day', 28000)] })
  }

  test('shows the allowed range per care type and the current prices', async () => {
    pricesBackend()
    const page = await load.loadPage('packages/caregiver/prices/index')
    expect(load.texts(page, '.type')).toEqual(['全天陪护', '白班陪护', '按小时陪护'])
    expect(load.texts(page, '.range')).toEqual([
      '平台标准 ¥200.00 – ¥500.00 / 天', '平台标准 ¥120.00 – ¥300.00 / 天', '平台标准 ¥30.00 – ¥100.00 / 小时'])
    expect(page.instance.data.rows.map((r) => r.value)).toEqual(['280', '', ''])
  })

  test('a price outside the range is refused before any request', async () => {
    pricesBackend()
    env.backend.on('PUT /api/v1/caregiver/me/prices', (req) => ({ prices: [] }))
    const page = await load.loadPage('packages/caregiver/prices/index')
    await type(page, '.amount', '600', 0)
    await load.tap(page, '.save')
    expect(env.backend.callsTo('PUT /api/v1/caregiver/me/prices')).toHaveLength(0)
    expect(env.toasts).toEqual(['全天陪护价格应在 200 元到 500 元之间'])
    expect(load.text(page, '.row-full_day .error')).toBe('全天陪护价格应在 200 元到 500 元之间')

    await type(page, '.amount', '12.345', 0)
    await load.tap(page, '.save')
    expect(load.text(page, '.row-full_day .error')).toBe('请输入正确的金额(最多两位小数)')
    await type(page, '.amount', '29.9', 2)
    await type(page, '.amount', '300', 0)
    await load.tap(page, '.save')
    expect(load.text(page, '.row-hourly .error')).toBe('按小时陪护价格应在 30 元到 100 元之间')
    expect(env.backend.callsTo('PUT /api/v1/caregiver/me/prices')).toHaveLength(0)
  })

  test('valid prices are sent in fen; blank rows are left out', async () => {
    pricesBackend()
    env.backend.on('PUT /api/v1/caregiver/me/prices', { prices: [C.price('full_day', 30050), C.price('hourly', 5000)] })
    const page = await load.loadPage('packages/caregiver/prices/index')
    await type(page, '.amount', '300.5', 0)
    await type(page, '.amount', '50', 2)
    await load.tap(page, '.save')
    expect(env.backend.callsTo('PUT /api/v1/caregiver/me/prices')[0].data).toEqual({
      prices: [{ care_type: 'full_day', price_fen: 30050 }, { care_type: 'hourly', price_fen: 5000 }],
    })
    expect(env.toasts).toEqual(['价格已保存'])
  })

  test('no price at all is refused; the server\'s range error lands on its row', async () => {
    pricesBackend()
    env.backend.on('PUT /api/v1/caregiver/me/prices', respond(422, {
      code: 'price_out_of_range', message: '白班陪护价格应在 150 元到 300 元之间',
      details: { care_type: 'day_shift', min_fen: 15000, max_fen: 30000 },
    }))
    const page = await load.loadPage('packages/caregiver/prices/index')
    await load.tap(page, '.clear')
    await load.tap(page, '.save')
    expect(env.toasts).toEqual(['请至少设置一项服务价格'])
    await type(page, '.amount', '130', 1)
    await load.tap(page, '.save')
    expect(load.text(page, '.row-day_shift .error')).toBe('白班陪护价格应在 150 元到 300 元之间')
  })
})

describe('availability', () => {
  function availabilityBackend(profile = C.profile('approved')) {
    env.backend
      .on('GET /api/v1/caregiver/me/availability', C.availability)
      .on('GET /api/v1/caregiver/me', profile)
  }

  test('shows the week, the exceptions and the rules', async () => {
    availabilityBackend(C.profile('approved', { accepts_urgent: true, night_service: true, night_surcharge_fen: 5000 }))
    const page = await load.loadPage('packages/caregiver/availability/index')
    expect(load.texts(page, '.weekday-name')).toEqual(['周一', '周二', '周三', '周四', '周五', '周六', '周日'])
    expect(load.texts(page, '.weekday-0 .time')).toEqual(['08:00', '18:00'])
    expect(load.queryAll(page, '.weekday-1 .window')).toHaveLength(0)
    expect(load.texts(page, '.exception .label')).toEqual(['2026-02-01 休息'])
    expect(load.texts(page, '.exception .desc')).toEqual(['全天 · 回老家'])
    expect(page.instance.data.rules).toEqual({ accepts_urgent: true, night_service: true, night_surcharge: '50.00' })
  })

  test('weekly windows: overlapping ones are refused; saved with PUT', async () => {
    availabilityBackend()
    env.backend.on('PUT /api/v1/caregiver/me/availability/weekly', (req) => ({
      weekly: req.data.windows.map((w) => ({ ...w, weekday_name: '周' })), exceptions: [],
    }))
    const page = await load.loadPage('packages/caregiver/availability/index')
    await load.tap(page, '.weekday-4 .add-window') // 周五 08:00–18:00
    await load.tap(page, '.weekday-4 .add-window') // then 18:00–24:00
    expect(load.texts(page, '.weekday-4 .time')).toEqual(['08:00', '18:00', '18:00', '24:00'])
    await pick(page, '.weekday-4 .window-start', '17:00', 1)
    await load.tap(page, '.save-weekly')
    expect(load.text(page, '.weekday-4 .weekly-error')).toBe('同一天的时间段不能重叠')
    expect(env.toasts).toEqual(['周五:同一天的时间段不能重叠'])
    expect(env.backend.callsTo('PUT /api/v1/caregiver/me/availability/weekly')).toHaveLength(0)

    await pick(page, '.weekday-4 .window-start', '19:00', 1)
    await tapNth(page, '.weekday-2 .remove-window', 0)
    await load.tap(page, '.save-weekly')
    expect(env.backend.callsTo('PUT /api/v1/caregiver/me/availability/weekly')[0].data).toEqual({
      windows: [
        { weekday: 0, start: '08:00', end: '18:00' },
        { weekday: 4, start: '08:00', end: '18:00' },
        { weekday: 4, start: '19:00', end: '24:00' },
      ],
    })
  })

  test('dated exceptions are added and removed', async () => {
    const { day } = require('../../utils/format')
    availabilityBackend()
    env.backend.on('POST /api/v1/caregiver/me/availability/exceptions', respond(201, {
      id: 6, day: day(), kind: 'extra', kind_name: '加班', start: '19:00', end: '23:00', note: null,
    }))
    env.backend.on('DELETE /api/v1/caregiver/me/availability/exceptions/{exception_id}', respond(204, null))
    const page = await load.loadPage('packages/caregiver/availability/index')
    await load.tap(page, '.add-exception')
    await load.tap(page, '.save-exception')
    expect(env.toasts).toEqual(['请选择日期'])
    await pick(page, '.exception-day', day())
    await pick(page, '.exception-kind', '1') // 加班
    await pick(page, '.exception-start', '19:00')
    await pick(page, '.exception-end', '18:00')
    await load.tap(page, '.save-exception')
    expect(env.toasts[1]).toBe('结束时间应晚于开始时间')
    await pick(page, '.exception-end', '23:00')
    await load.tap(page, '.save-exception')
    expect(env.backend.callsTo('POST /api/v1/caregiver/me/availability/exceptions')[0].data).toEqual({
      day: day(), kind: 'extra', note: null, start: '19:00', end: '23:00',
    })
    await load.tap(page, '.remove-exception')
    expect(env.backend.callsTo('DELETE /api/v1/caregiver/me/availability/exceptions/{exception_id}')[0].path)
      .toBe('/api/v1/caregiver/me/availability/exceptions/5')
  })

  test('rules: urgent and night flags with the surcharge, capped at 200 元', async () => {
    availabilityBackend()
    env.backend.on('PATCH /api/v1/caregiver/me', C.profile('approved', { accepts_urgent: true, night_service: true, night_surcharge_fen: 8000 }))
    const page = await load.loadPage('packages/caregiver/availability/index')
    await pick(page, '.urgent', true)
    await pick(page, '.night', true)
    await type(page, '.surcharge', '250')
    await load.tap(page, '.save-rules')
    expect(load.text(page, '.rules-error')).toBe('夜间附加费不能超过 200 元')
    expect(env.backend.callsTo('PATCH /api/v1/caregiver/me')).toHaveLength(0)
    await type(page, '.surcharge', '80')
    await load.tap(page, '.save-rules')
    expect(env.backend.callsTo('PATCH /api/v1/caregiver/me')[0].data).toEqual({
      accepts_urgent: true, night_service: true, night_surcharge_fen: 8000,
    })
    expect(env.toasts).toEqual(['夜间附加费不能超过 200 元', '设置已保存'])
  })
})

describe('inbox', () => {
  const NOW = Date.parse('2026-01-05T01:00:00Z')
  const offer = (id, deadline) => C.order(id, 'awaiting_acceptance', { acceptance_deadline: deadline })

  test('the countdown shows the time left from each offer\'s deadline; accept calls its endpoint', async () => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW)
    env.backend.on('GET /api/v1/caregiver/care-orders', C.page([
      offer(11, '2026-01-05T01:14:30+00:00'), offer(12, '2026-01-05T02:05:09+00:00'), offer(13, '2026-01-05T00:59:00+00:00'),
    ]))
    env.backend.on('POST /api/v1/caregiver/care-orders/{order_id}/accept', C.order(11, 'accepted'))
    const page = await load.loadPage('packages/caregiver/inbox/index')
    expect(env.backend.callsTo('GET /api/v1/caregiver/care-orders')[0].query).toEqual({ view: 'inbox', page: '1', page_size: '20' })
    expect(load.texts(page, '.countdown')).toEqual(['剩余 14分30秒', '剩余 1小时05分09秒', '接单已超时'])
    expect(load.texts(page, '.place')).toEqual(Array(3).fill('地点:市第一人民医院 · 骨科 · 12床'))
    expect(page.instance.data.items.map((o) => o.expired)).toEqual([false, false, true]) // its 接单 is disabled

    Date.now.mockReturnValue(NOW + 30 * 1000) // the clock moves on; the page ticks each second
    page.instance.tick()
    await load.flush()
    expect(load.texts(page, '.countdown').slice(0, 2)).toEqual(['剩余 14分00秒', '剩余 1小时04分39秒'])

    await tapNth(page, '.accept', 0)
    expect(env.backend.callsTo('POST /api/v1/caregiver/care-orders/{order_id}/accept').map((c) => c.path))
      .toEqual(['/api/v1/caregiver/care-orders/11/accept'])
    expect(env.toasts).toEqual(['接单成功'])
    expect(load.queryAll(page, '.order')).toHaveLength(2)
    expect(env.navigations).toEqual([]) // the buttons do not open the order
    page.instance.stopTimer()
  })

  test('reject asks for a reason (2–200 characters) and sends it', async () => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW)
    env.backend.on('GET /api/v1/caregiver/care-orders', C.page([offer(11, '2026-01-05T01:14:30+00:00')]))
    env.backend.on('POST /api/v1/caregiver/care-orders/{order_id}/reject', C.order(11, 'awaiting_acceptance'))
    const page = await load.loadPage('packages/caregiver/inbox/index')
    await load.tap(page, '.reject')
    await type(page, '.reason', '忙')
    await load.tap(page, '.confirm-reject')
    expect(load.text(page, '.sheet .error')).toBe('请填写拒单原因(2–200 字)')
    expect(env.backend.callsTo('POST /api/v1/caregiver/care-orders/{order_id}/reject')).toHaveLength(0)
    await tapNth(page, '.quick-reason', 1)
    await load.tap(page, '.confirm-reject')
    const [call] = env.backend.callsTo('POST /api/v1/caregiver/care-orders/{order_id}/reject')
    expect(call.path).toBe('/api/v1/caregiver/care-orders/11/reject')
    expect(call.data).toEqual({ reason: '距离太远' })
    expect(load.query(page, '.sheet')).toBeNull()
    expect(load.text(page, '.message')).toBe('暂无待接订单')
    page.instance.stopTimer()
  })

  test('an expired offer shows the server\'s message and the list is reloaded', async () => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW)
    env.backend.on('GET /api/v1/caregiver/care-orders', C.page([offer(11, '2026-01-05T01:14:30+00:00')]))
    env.backend.on('POST /api/v1/caregiver/care-orders/{order_id}/accept', respond(409, { code: 'offer_expired', message: '接单时间已过,订单已改派' }))
    const page = await load.loadPage('packages/caregiver/inbox/index')
    env.backend.on('GET /api/v1/caregiver/care-orders', C.page([]))
    await load.tap(page, '.accept')
    await load.flush()
    expect(env.toasts).toEqual(['接单时间已过,订单已改派'])
    expect(env.backend.callsTo('GET /api/v1/caregiver/care-orders')).toHaveLength(2)
    expect(load.text(page, '.message')).toBe('暂无待接订单')
  })

  test('the schedule tab lists accepted orders that open the service page', async () => {
    env.backend.on('GET /api/v1/caregiver/care-orders', (req) => C.page(req.query.view === 'schedule' ? [C.order(21, 'accepted')] : []))
    const page = await load.loadPage('packages/caregiver/inbox/index')
    await tapNth(page, '.tab', 1)
    expect(env.backend.callsTo('GET /api/v1/caregiver/care-orders')[1].query.view).toBe('schedule')
    expect(load.texts(page, '.tag')).toEqual(['待服务'])
    await load.tap(page, '.order')
    expect(env.navigations).toEqual(['/packages/caregiver/service/index?id=21'])
  })
})

describe('service', () => {
  function serviceBackend(order, records = []) {
    env.backend
      .on('GET /api/v1/caregiver/care-orders/{order_id}', order)
      .on('GET /api/v1/caregiver/care-orders/{order_id}/records', records)
  }

  test('an accepted order is started (check-in) with the location', async () => {
    serviceBackend(C.order(21, 'accepted'))
    env.backend.on('POST /api/v1/caregiver/care-orders/{order_id}/start', C.order(21, 'in_service', { started_at: '2026-01-05T00:05:00+00:00' }))
    const page = await load.loadPage('packages/caregiver/service/index', { id: '21' })
    expect(env.backend.callsTo('GET /api/v1/caregiver/care-orders/{order_id}')[0].path).toBe('/api/v1/caregiver/care-orders/21')
    expect(load.text(page, '.empty')).toBe('暂无服务记录')
    await load.tap(page, '.start')
    await load.flush()
    const [call] = env.backend.callsTo('POST /api/v1/caregiver/care-orders/{order_id}/start')
    expect(call.path).toBe('/api/v1/caregiver/care-orders/21/start')
    expect(call.data).toEqual({ latitude: 39.9, longitude: 116.4 })
    expect(load.text(page, '.started')).toBe('开始于 2026-01-05 08:05')
    expect(load.query(page, '.record-form')).not.toBeNull()
  })

  test('a declined location starts with an empty body; too early shows the server message', async () => {
    serviceBackend(C.order(21, 'accepted'))
    global.wx.getLocation = (options) => setTimeout(() => options.fail({ errMsg: 'getLocation:fail auth deny' }), 0)
    env.backend.on('POST /api/v1/caregiver/care-orders/{order_id}/start', respond(409, { code: 'too_early_to_start', message: '还未到服务开始时间' }))
    const page = await load.loadPage('packages/caregiver/service/index', { id: '21' })
    await load.tap(page, '.start')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/caregiver/care-orders/{order_id}/start')[0].data).toEqual({})
    expect(env.toasts).toEqual(['还未到服务开始时间'])
  })

  test('a record with text and a photo sends a valid body; the order is ended', async () => {
    serviceBackend(C.order(21, 'in_service'), [C.record(1)])
    env.backend.on('POST /api/v1/files', respond(201, C.file(51)))
    env.backend.on('POST /api/v1/caregiver/care-orders/{order_id}/records', (req) => respond(201, C.record(2, {
      condition: req.data.condition, care_given: req.data.care_given, photo_urls: ['/p/0'], recorded_at: '2026-01-05T03:00:00+00:00',
    })))
    env.backend.on('POST /api/v1/caregiver/care-orders/{order_id}/end', C.order(21, 'awaiting_confirmation', { ended_at: '2026-01-05T10:00:00+00:00' }))
    const page = await load.loadPage('packages/caregiver/service/index', { id: '21' })
    expect(load.texts(page, '.record-condition')).toEqual(['患者情况:体温正常'])

    await load.tap(page, '.add-record')
    expect(load.text(page, '.error-condition')).toBe('请填写病情、护理内容或上传照片')
    expect(env.backend.callsTo('POST /api/v1/caregiver/care-orders/{order_id}/records')).toHaveLength(0)

    await type(page, '.condition', '精神好,进食正常')
    await type(page, '.care-given', '协助翻身')
    await load.tap(page, '.add-photo')
    await load.tap(page, '.add-record')
    expect(env.backend.callsTo('POST /api/v1/files')[0].data).toEqual({ purpose: 'attachment' })
    const [call] = env.backend.callsTo('POST /api/v1/caregiver/care-orders/{order_id}/records')
    expect(call.path).toBe('/api/v1/caregiver/care-orders/21/records')
    expect(call.data).toEqual({ condition: '精神好,进食正常', care_given: '协助翻身', photo_file_ids: [51] })
    expect(load.texts(page, '.record-condition')).toEqual(['患者情况:精神好,进食正常', '患者情况:体温正常'])
    expect(load.text(page, '.record-photos')).toBe('共 1 张照片')

    await load.tap(page, '.end')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/caregiver/care-orders/{order_id}/end')[0].path).toBe('/api/v1/caregiver/care-orders/21/end')
    expect(load.text(page, '.tag')).toBe('服务结束,待确认')
    expect(load.query(page, '.record-form')).toBeNull()
  })

  test('a photo-only record is valid; a refused record shows the server message', async () => {
    serviceBackend(C.order(21, 'in_service'))
    env.backend.on('POST /api/v1/files', respond(201, C.file(52)))
    env.backend.on('POST /api/v1/caregiver/care-orders/{order_id}/records', respond(409, { code: 'record_limit_reached', message: '每个订单最多 500 条服务记录' }))
    const page = await load.loadPage('packages/caregiver/service/index', { id: '21' })
    await load.tap(page, '.add-photo')
    await load.tap(page, '.add-record')
    expect(env.backend.callsTo('POST /api/v1/caregiver/care-orders/{order_id}/records')[0].data)
      .toEqual({ condition: null, care_given: null, photo_file_ids: [52] })
    expect(env.toasts).toEqual(['每个订单最多 500 条服务记录'])
  })
})

describe('income', () => {
  test('shows the totals, the months and the entries; a month filters; more pages load', async () => {
    env.backend.on('GET /api/v1/caregiver/income', (req) => {
      if (req.query.month === '2025-12') return C.income([C.earning(3, 'settled')])
      if (req.query.page === '2') return C.income([C.earning(2, 'settled', { kind: 'dispute', kind_name: '纠纷处理', net_fen: -5000 })], 2, 2)
      return C.income([C.earning(1, 'pending')], 2)
    })
    const page = await load.loadPage('packages/caregiver/income/index')
    expect(load.text(page, '.pending')).toBe('252.00')
    expect(load.text(page, '.settled')).toBe('1008.00')
    expect(load.texts(page, '.month-name')).toEqual(['2026-01', '2025-12'])
    expect(load.texts(page, '.month-net')).toEqual(['¥252.00', '¥1008.00'])
    expect(load.texts(page, '.net')).toEqual(['+252.00'])
    expect(load.texts(page, '.tag')).toEqual(['待结算'])

    await page.instance.onReachBottom()
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/caregiver/income')[1].query).toEqual({ page: '2', page_size: '20' })
    expect(load.texts(page, '.net')).toEqual(['+252.00', '-50.00'])
    expect(load.query(page, '.more')).toBeNull()

    await tapNth(page, '.month', 1)
    expect(env.backend.callsTo('GET /api/v1/caregiver/income')[2].query).toEqual({ month: '2025-12', page: '1', page_size: '20' })
    expect(load.texts(page, '.tag')).toEqual(['已结算'])
  })

  test('a failed load shows the error state', async () => {
    env.backend.on('GET /api/v1/caregiver/income', respond(404, { code: 'caregiver_not_found', message: '您还不是护工' }))
    const page = await load.loadPage('packages/caregiver/income/index')
    expect(load.text(page, '.message')).toBe('您还不是护工')
  })
})
