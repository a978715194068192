// behaviors/paged-list.js, through the list pages that use it: first page, more on reaching the
// bottom (one at a time), pull-down refresh, tabs, replies for old filters dropped, errors.
const fs = require('fs')
const path = require('path')
const { respond } = require('./helpers/wx')
const { usePageTest } = require('./helpers/page-test')
const F = require('./fixtures')

const ROOT = path.join(__dirname, '..')
// every page that lists items 20 a page with more on reaching the bottom
const LIST_PAGES = [
  'pages/orders/index',
  'pages/inbox/index',
  'packages/booking/hospitals/index',
  'packages/booking/registrations/index',
  'packages/care/orders/index',
  'packages/care/search/index',
  'packages/caregiver/inbox/index',
  'packages/caregiver/income/index',
]

let env
let load
usePageTest((installed) => { ({ env, load } = installed) })

const tapEvent = (dataset) => ({ currentTarget: { dataset }, detail: {} })
const hospitals = (from, count) => Array.from({ length: count }, (_, i) => F.hospital(from + i, `医院${from + i}`))

// a handler whose answers wait until release() (the oldest first)
function held() {
  const waiting = []
  const handler = (answer) => () => new Promise((resolve) => waiting.push(() => resolve(answer)))
  return { handler, release: () => waiting.shift()(), get count() { return waiting.length } }
}

test.each(LIST_PAGES)('%s pages through behaviors/paged-list, not a copy of its own', (page) => {
  const source = fs.readFileSync(path.join(ROOT, `${page}.js`), 'utf8')
  expect(source).toMatch(/behaviors: \[pagedList\]/)
  expect(source).toMatch(/require\('(\.\.\/)+behaviors\/paged-list'\)/)
  expect(source).toMatch(/fetchPage\(paging, options\)/)
  expect(source).not.toMatch(/\n {4}(async )?(load|onReachBottom|onPullDownRefresh)\(/)
})

test('the next page is appended; reaching the bottom again meanwhile asks once; the last page ends it', async () => {
  env.backend.on('GET /api/v1/hospitals', (req) => (req.query.page === '1'
    ? F.page(hospitals(1, 20), 25) : F.page(hospitals(21, 5), 25)))
  const page = await load.loadPage('packages/booking/hospitals/index')
  expect(load.queryAll(page, '.hospital')).toHaveLength(20)
  expect(page.instance.data.hasMore).toBe(true)

  const first = page.instance.onReachBottom()
  expect(page.instance.data.loadingMore).toBe(true)
  expect(page.instance.onReachBottom()).toBeNull() // one page at a time
  await first
  await load.flush()
  expect(env.backend.callsTo('GET /api/v1/hospitals').map((c) => c.query.page)).toEqual(['1', '2'])
  expect(load.queryAll(page, '.hospital')).toHaveLength(25)
  expect(page.instance.data).toMatchObject({ page: 2, hasMore: false, loadingMore: false, total: 25 })
  expect(page.instance.onReachBottom()).toBeNull()
})

test('pull-down refresh loads the first page again and then stops the refresh', async () => {
  env.backend.on('GET /api/v1/notifications', F.page([F.notification(1, 'system', null, null, true)]))
  env.backend.on('GET /api/v1/notifications/unread-count', { unread: 0 })
  const page = await load.loadPage('pages/inbox/index')
  const stop = jest.spyOn(wx, 'stopPullDownRefresh')
  env.backend.on('GET /api/v1/notifications', F.page([
    F.notification(2, 'system', null, null, false), F.notification(1, 'system', null, null, true)]))
  await page.instance.onPullDownRefresh()
  await load.flush()
  expect(stop).toHaveBeenCalledTimes(1)
  expect(load.texts(page, '.message-title')).toEqual(['消息2', '消息1'])
})

test('a tab switched while its list loads: the old tab\'s late reply is dropped', async () => {
  const all = held()
  env.backend.on('GET /api/v1/registrations', (req) => (req.query.status
    ? F.page([F.registration(3, 'booked')])
    : all.handler(F.page([F.registration(1, 'pending_payment'), F.registration(2, 'booked')]))()))
  const page = load.renderComponent('packages/booking/registrations/index')
  const firstLoad = page.instance.onLoad({})
  await load.flush()
  expect(all.count).toBe(1)
  expect(page.instance.data.state).toBe('loading')

  await page.instance.onTab(tapEvent({ key: 'booked' }))
  await load.flush()
  expect(load.queryAll(page, '.card')).toHaveLength(1)

  all.release()
  await firstLoad
  await load.flush()
  expect(page.instance.data.tab).toBe('booked')
  expect(page.instance.data.items.map((r) => r.id)).toEqual([3])
  expect(load.queryAll(page, '.card')).toHaveLength(1)
})

test('the same tab again loads nothing; an unknown tab in the query keeps the first', async () => {
  env.backend.on('GET /api/v1/care-orders', F.page([F.careOrder(7, 'accepted')]))
  const page = await load.loadPage('packages/care/orders/index', { tab: 'nonsense' })
  expect(page.instance.data.tab).toBe('all')
  expect(page.instance.onTab(tapEvent({ key: 'all' }))).toBeNull()
  expect(env.backend.callsTo('GET /api/v1/care-orders')).toHaveLength(1)
})

test('a tab from the query filters the first load by its statuses', async () => {
  env.backend.on('GET /api/v1/care-orders', F.page([F.careOrder(7, 'in_service')]))
  const page = await load.loadPage('packages/care/orders/index', { tab: 'serving' })
  expect(page.instance.data.tab).toBe('serving')
  expect(env.backend.calls[0].query).toEqual({
    status: ['in_service', 'awaiting_confirmation', 'disputed'], page: '1', page_size: '20',
  })
})

test('the first show comes with the load; showing the page again reloads it', async () => {
  env.backend.on('GET /api/v1/care-orders', F.page([F.careOrder(7, 'accepted')]))
  const page = await load.loadPage('packages/care/orders/index', {}, { show: true })
  expect(env.backend.callsTo('GET /api/v1/care-orders')).toHaveLength(1)
  await page.instance.onShow()
  expect(env.backend.callsTo('GET /api/v1/care-orders')).toHaveLength(2)
})

test('a failed first page shows the error and 重试 loads again; a failed later page keeps the list', async () => {
  env.backend.on('GET /api/v1/care-orders', respond(500, { code: 'internal_error', message: '服务器开小差了' }))
  const page = await load.loadPage('packages/care/orders/index')
  expect(page.instance.data.state).toBe('error')
  expect(load.text(page, '.message')).toBe('服务器开小差了')

  const orders = Array.from({ length: 20 }, (_, i) => F.careOrder(i + 1, 'accepted'))
  env.backend.on('GET /api/v1/care-orders', F.page(orders, 30))
  await load.tap(page, '.retry')
  expect(load.queryAll(page, '.card')).toHaveLength(20)

  env.backend.on('GET /api/v1/care-orders', respond(500, { code: 'internal_error', message: '服务器开小差了' }))
  await page.instance.onReachBottom()
  await load.flush()
  expect(env.toasts).toEqual(['服务器开小差了']) // a later page toasts
  expect(page.instance.data).toMatchObject({ state: '', page: 1, hasMore: true, loadingMore: false })
  expect(load.queryAll(page, '.card')).toHaveLength(20)
})

test('an empty first page is the empty state with the page\'s own text', async () => {
  env.backend.on('GET /api/v1/hospitals', F.page([]))
  const page = await load.loadPage('packages/booking/hospitals/index')
  expect(page.instance.data.state).toBe('empty')
  expect(load.text(page, '.message')).toBe('没有符合条件的医院')
})

// every list page on the Behavior: its list route, a first page to answer, what shows an item,
// and what else the page asks for while loading
const C = require('./fixtures/caregiver')
const CARE = require('./fixtures/care')

const RETRY_CASES = [
  ['pages/orders/index', 'GET /api/v1/registrations', F.page([F.registration(1, 'booked')]), '.card'],
  ['pages/inbox/index', 'GET /api/v1/notifications', F.page([F.notification(1, 'system', null, null, true)]),
    '.message-title', {}, () => env.backend.on('GET /api/v1/notifications/unread-count', { unread: 0 })],
  ['packages/booking/hospitals/index', 'GET /api/v1/hospitals', F.page(hospitals(1, 3)), '.hospital'],
  ['packages/booking/registrations/index', 'GET /api/v1/registrations', F.page([F.registration(1, 'booked')]), '.card'],
  ['packages/care/orders/index', 'GET /api/v1/care-orders', F.page([F.careOrder(7, 'accepted')]), '.card'],
  ['packages/care/search/index', 'GET /api/v1/caregivers', F.page([CARE.caregiver(9, '赵阿姨')]), '.card', {}, () => {
    env.backend.on('GET /api/v1/care-types', CARE.careTypes)
    env.backend.on('GET /api/v1/caregiver-skills', CARE.skills)
    env.backend.on('GET /api/v1/hospitals', F.page([]))
  }],
  // 历史: no countdown timer left running
  ['packages/caregiver/inbox/index', 'GET /api/v1/caregiver/care-orders', F.page([C.order(11, 'accepted')]), '.order',
    { tab: 'history' }],
  ['packages/caregiver/income/index', 'GET /api/v1/caregiver/income', C.income([C.earning(1, 'pending')]), '.entry'],
]

test('the list pages on the Behavior are the ones 重试 is checked on', () => {
  expect(RETRY_CASES.map((c) => c[0]).sort()).toEqual(LIST_PAGES.slice().sort())
})

test.each(RETRY_CASES)('%s: 重试 in the error state asks for page 1 again and shows the list',
  async (pagePath, route, answer, itemSelector, query = {}, setup = () => {}) => {
    setup()
    env.backend.on(route, respond(500, { code: 'internal_error', message: '服务器开小差了' }))
    const page = await load.loadPage(pagePath, query)
    expect(page.instance.data.state).toBe('error')
    const before = env.backend.callsTo(route).length

    env.backend.on(route, answer)
    const fetchPage = jest.spyOn(page.instance, 'fetchPage')
    // the 重试 button inside the state-view: its onRetry triggers 'retry', and the page's
    // bind:retry handler gets that event (bound to load, the event would be the page number)
    expect(load.queryAll(page, '.state--error .retry')).toHaveLength(1)
    await load.tap(page, '.state--error .retry')
    await load.flush()

    expect(fetchPage).toHaveBeenCalledTimes(1)
    expect(fetchPage.mock.calls[0][0]).toEqual({ page: 1, page_size: 20 })
    const calls = env.backend.callsTo(route).slice(before)
    expect(calls).toHaveLength(1)
    expect(calls[0].query.page).toBe('1')
    expect(page.instance.data).toMatchObject({ state: '', page: 1 })
    expect(load.queryAll(page, itemSelector).length).toBeGreaterThan(0)
  })
