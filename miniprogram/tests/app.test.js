// app.json is valid for WeChat: every page (tab and subpackage) has its four files and loads;
// utils/routes.js points only at real pages; utils/status.js matches the API's enums.
const fs = require('fs')
const path = require('path')
const { installWx } = require('./helpers/wx')
const { loadDocument } = require('./helpers/openapi')

const ROOT = path.join(__dirname, '..')
const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
const pages = app.pages.concat(...app.subpackages.map((p) => p.pages.map((page) => `${p.root}/${page}`)))

test('the tab bar is 首页 / 订单 / 消息 / 我的 and its pages are main-package pages', () => {
  expect(app.tabBar.list.map((t) => t.text)).toEqual(['首页', '订单', '消息', '我的'])
  app.tabBar.list.forEach((t) => expect(app.pages).toContain(t.pagePath))
  const { INBOX_TAB_INDEX } = require('../services/notifications')
  expect(app.tabBar.list[INBOX_TAB_INDEX].text).toBe('消息')
})

test('one subpackage per domain', () => {
  expect(app.subpackages.map((p) => p.root)).toEqual(
    ['packages/booking', 'packages/patients', 'packages/care', 'packages/caregiver', 'packages/member',
      'packages/board'])
})

test.each(pages)('%s has .js/.json/.wxml/.wxss and loads as a Component() page', async (page) => {
  ['js', 'json', 'wxml', 'wxss'].forEach((ext) => expect(fs.existsSync(path.join(ROOT, `${page}.${ext}`))).toBe(true))
  const json = JSON.parse(fs.readFileSync(path.join(ROOT, `${page}.json`), 'utf8'))
  expect(json.usingComponents).toEqual(expect.any(Object)) // required for Component() pages
  jest.resetModules()
  const env = installWx({ validate: false })
  env.backend.on('GET /api/v1/{any}', { items: [], total: 0 })
  const load = require('./helpers/load')
  const loaded = await load.loadPage(page)
  expect(loaded.instance).toBeTruthy()
})

test('utils/routes.js names only pages that app.json declares', () => {
  const { PAGES } = require('../utils/routes')
  const declared = new Set(pages.map((p) => `/${p}`))
  Object.entries(PAGES).forEach(([name, p]) => {
    if (!declared.has(p)) throw new Error(`routes.${name} → ${p} is not in app.json`)
  })
  expect(Object.values(PAGES).sort()).toEqual([...declared].sort())
})

test('notifications about a wait open 我的候补; a held slot (ref registration) its registration', () => {
  const { notificationTarget, url } = require('../utils/routes')
  const open = (n) => url(...notificationTarget(n))
  expect(open({ kind: 'waitlist_ended', ref_type: 'waitlist_entry', ref_id: 8 })).toBe('/packages/booking/waitlist/index')
  expect(open({ kind: 'something_new', ref_type: 'waitlist_entry', ref_id: 8 })).toBe('/packages/booking/waitlist/index')
  expect(open({ kind: 'waitlist_offered', ref_type: 'registration', ref_id: 42 })).toBe('/packages/booking/registration/index?id=42')
})

test('project.config.json keeps the tests and npm files out of the uploaded package', () => {
  const project = JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'))
  const ignored = project.packOptions.ignore.map((i) => i.value)
  expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'tests', 'package.json']))
  expect(project.setting.urlCheck).toBe(false)
})

describe('utils/status.js matches the API document', () => {
  const status = require('../utils/status')
  const schemas = () => loadDocument().doc.components.schemas
  const enumOf = (schema, field) => schemas()[schema].properties[field].enum.filter((v) => v !== null)

  test.each([
    ['REGISTRATION', 'Registration', 'status'],
    ['CARE_ORDER', 'CareOrder', 'status'],
    ['PAYMENT', 'Payment', 'status'],
    ['REFUND', 'Refund', 'status'],
    ['EARNING', 'EarningEntry', 'status'],
    ['QUALIFICATION', 'Qualification', 'status'],
    ['CAREGIVER', 'MyCaregiver', 'status'],
    ['REAL_NAME', 'User', 'real_name_status'],
    ['DISPUTE', 'Dispute', 'status'],
    ['WAITLIST', 'WaitlistEntry', 'status'],
  ])('%s has exactly the values of %s.%s', (table, schema, field) => {
    expect(Object.keys(status[table]).sort()).toEqual(enumOf(schema, field).sort())
    Object.values(status[table]).forEach((info) => {
      expect(info.label).toMatch(/[\u4e00-\u9fa5]/)
      expect(status.COLORS).toContain(info.color)
    })
  })

  test('the order tabs cover every status exactly once (besides 全部)', () => {
    [[status.REGISTRATION_TABS, status.REGISTRATION], [status.CARE_ORDER_TABS, status.CARE_ORDER],
      [status.WAITLIST_TABS, status.WAITLIST]].forEach(([tabs, table]) => {
      const listed = tabs.flatMap((t) => t.statuses)
      expect(listed.sort()).toEqual(Object.keys(table).sort())
    })
  })
})
