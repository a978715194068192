// Membership pages (packages/member): 我的会员 (level, progress, privileges, ladder) and
// 我的积分 (balance, expiring soon, paged history), and their entries on 我的.
const { respond } = require('../helpers/wx')
const { usePageTest } = require('../helpers/page-test')
const F = require('../fixtures/booking')

let env
let load
usePageTest((installed) => { ({ env, load } = installed) })

describe('我的会员 packages/member/membership', () => {
  const PAGE = 'packages/member/membership/index'

  test('the level, the window’s points and spend, and the closer way to the next level', async () => {
    env.backend.on('GET /api/v1/me/membership', F.membership())
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.level-name')).toBe('白银会员')
    expect(load.text(page, '.stats')).toBe('近 365 天获得 300 积分 · 实付 ¥4000.00')
    // spend: 4000 of 5000 (80%) is closer than points: 300 of 1000 (30%)
    expect(load.text(page, '.progress-text')).toBe('再消费 ¥1000.00 即可升级为黄金会员')
    expect(load.text(page, '.progress-other')).toBe('或再获得 700 积分,任一达到即可')
    expect(page.instance.data.progress.percent).toBe(80)
  })

  test('by points when points are closer', async () => {
    env.backend.on('GET /api/v1/me/membership', F.membership({
      points: 900, spend_fen: 0, next: { level: '黄金会员', points_needed: 100, spend_fen_needed: 500000 } }))
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.progress-text')).toBe('再获得 100 积分即可升级为黄金会员')
    expect(page.instance.data.progress.percent).toBe(90)
  })

  test('privileges in plain words, this month’s late cancels, and the ladder with the current level', async () => {
    env.backend.on('GET /api/v1/me/membership', F.membership({
      level: 'gold', level_name: '黄金会员', privileges: F.LEVELS[2].privileges, next: null, late_cancels_used: 1 }))
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.top-level')).toBe('您已是最高等级会员')
    expect(load.texts(page, '.privilege-title')).toEqual(['提前预约', '超时免费取消', '陪护折扣', '候补优先', '派单优先'])
    expect(load.texts(page, '.privilege-text')).toEqual([
      '放号前 2 小时即可预约挂号',
      '过了医院的取消时限后 12 小时内仍可免费取消,每月 2 次',
      '陪护订单享 9.5 折(优惠 5%)',
      '号源退回时优先为您保留',
      '平台派单时优先为您安排护工',
    ])
    expect(load.text(page, '.late-cancels')).toBe('超时免费取消:本月已用 1 次,共 2 次')
    expect(load.texts(page, '.ladder-name')).toEqual(['普通会员', '白银会员', '黄金会员'])
    expect(load.texts(page, '.ladder-needs')).toEqual(['注册即享', '获得 200 积分 或 实付 ¥1000.00', '获得 1000 积分 或 实付 ¥5000.00'])
    expect(load.texts(page, '.ladder-privileges')[1]).toBe('提前预约 · 候补优先')
    expect(load.texts(page, '.ladder-level--current .ladder-name')).toEqual(['黄金会员'])
  })

  test('a level without privileges says so; no late-cancel line', async () => {
    env.backend.on('GET /api/v1/me/membership', F.membership({ level: 'normal', level_name: '普通会员', privileges: F.privileges() }))
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.no-privilege')).toBe('当前等级暂无专属权益,升级后即可享受')
    expect(load.query(page, '.late-cancels')).toBeNull()
    await load.tap(page, '.points-entry')
    expect(env.navigations).toEqual(['/packages/member/points/index'])
  })

  test('an error shows the error state with 重试', async () => {
    env.backend.on('GET /api/v1/me/membership', respond(500, { code: 'internal_error', message: '服务异常' }))
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.message')).toBe('服务异常')
    expect(env.toasts).toEqual([])
    env.backend.on('GET /api/v1/me/membership', F.membership())
    await load.tap(page, '.retry')
    expect(load.text(page, '.level-name')).toBe('白银会员')
  })
})

describe('我的积分 packages/member/points', () => {
  const PAGE = 'packages/member/points/index'
  const history = (from, n) => Array.from({ length: n }, (_, i) => F.pointTransaction(from + i, i % 2 ? 'spend' : 'earn', i % 2 ? -50 : 100))

  test('the balance, what expires soon, and the history with signed points', async () => {
    env.backend.on('GET /api/v1/me/points', F.myPoints(1200, history(1, 2), {
      expiring_soon: [{ points: 300, expires_at: '2026-02-01T00:00:00+08:00' }] }))
    const page = await load.loadPage(PAGE)
    expect(env.backend.calls[0].query).toEqual({ page: '1', page_size: '20' })
    expect(load.text(page, '.balance')).toBe('1200')
    expect(load.text(page, '.expiring-points')).toBe('300 积分')
    expect(load.text(page, '.expiring-date')).toBe('2026-02-01 到期')
    expect(load.texts(page, '.txn-title')).toEqual(['获得', '使用'])
    expect(load.texts(page, '.txn-points')).toEqual(['+100', '-50'])
    expect(load.queryAll(page, '.txn-points--gain')).toHaveLength(1)
    expect(load.texts(page, '.txn-time')[0]).toBe('2026-01-05 09:00')
  })

  test('more history at the bottom (paged-list), one page at a time', async () => {
    env.backend.on('GET /api/v1/me/points', (req) => ({
      ...F.myPoints(500, history(Number(req.query.page) * 100, req.query.page === '1' ? 20 : 5)),
      history: { ...F.page(history(Number(req.query.page) * 100, req.query.page === '1' ? 20 : 5), 25), page: Number(req.query.page) },
    }))
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.more')).toBe('上拉加载更多')
    await page.instance.onReachBottom()
    await load.flush()
    expect(env.backend.calls[1].query).toEqual({ page: '2', page_size: '20' })
    expect(load.queryAll(page, '.txn')).toHaveLength(25)
    expect(load.text(page, '.more')).toBe('没有更多了')
    await page.instance.onReachBottom()
    expect(env.backend.calls).toHaveLength(2)
  })

  test('no history yet: the balance still shows, with 暂无积分记录', async () => {
    env.backend.on('GET /api/v1/me/points', F.myPoints(0))
    const page = await load.loadPage(PAGE)
    expect(load.text(page, '.balance')).toBe('0')
    expect(load.query(page, '.expiring')).toBeNull()
    expect(load.text(page, '.message')).toBe('暂无积分记录')
    await load.tap(page, '.member-link')
    expect(env.navigations).toEqual(['/packages/member/membership/index'])
  })

  test('an error shows the error state; 重试 loads again', async () => {
    env.backend.on('GET /api/v1/me/points', respond(500, { code: 'internal_error', message: '服务异常' }))
    const page = await load.loadPage(PAGE)
    expect(load.query(page, '.balance')).toBeNull()
    expect(load.text(page, '.message')).toBe('服务异常')
    env.backend.on('GET /api/v1/me/points', F.myPoints(80, history(1, 1)))
    await load.tap(page, '.retry')
    expect(load.text(page, '.balance')).toBe('80')
  })
})

describe('我的 pages/me: the member, points and waitlist entries', () => {
  test('我的候补, 我的会员 and 我的积分 open their pages', async () => {
    env.backend.on('GET /api/v1/me', { id: 1, nickname: '张三', phone_bound: true, phone: '138****0000', real_name_status: 'verified' })
    env.backend.on('GET /api/v1/caregiver/me', respond(404, { code: 'not_found', message: '还不是护工' }))
    const page = await load.loadPage('pages/me/index')
    const cells = load.queryAll(page, '.cell')
    const labels = load.texts(page, '.cell-label')
    ;['我的候补', '我的会员', '我的积分'].forEach((label) => cells[labels.indexOf(label)].dispatchEvent('tap'))
    await load.flush()
    expect(env.navigations).toEqual([
      '/packages/booking/waitlist/index', '/packages/member/membership/index', '/packages/member/points/index'])
  })
})
