// Board pages (packages/board): 讨论区 list (sections as tabs, sort, paging), 帖子详情 (post,
// images through the token, replies, reply box, report, delete), 发帖 (section, text, images
// uploaded as board_image), 我的帖子, and the entries on 首页 and 我的.
const { respond } = require('../helpers/wx')
const { usePageTest } = require('../helpers/page-test')
const B = require('../fixtures/board')

let env
let load
usePageTest((installed) => { ({ env, load } = installed) })

const detail = (d) => ({ detail: d })

describe('讨论区 packages/board/list', () => {
  const PAGE = 'packages/board/list/index'

  test('sections as tabs after 全部; posts newest first; a tab and the sort filter the query', async () => {
    env.backend.on('GET /api/v1/board/sections', B.SECTIONS)
    env.backend.on('GET /api/v1/board/posts', (req) => B.pageOf(req.query.section === 'consult'
      ? [B.post(3, { section: 'consult', title: '高血压怎么调理' })]
      : [B.post(2, { reply_count: 4, imageIds: [7, 8] }), B.post(1)]))
    const page = await load.loadPage(PAGE)
    expect(load.texts(page, '.tab')).toEqual(['全部', '就医经验', '健康咨询', '陪护交流'])
    expect(env.backend.callsTo('GET /api/v1/board/posts')[0].query).toEqual({ sort: 'latest', page: '1', page_size: '20' })
    expect(load.texts(page, '.post-title')).toEqual(['帖子2', '帖子1'])
    expect(load.texts(page, '.reply-count')).toEqual(['4 回复', '0 回复'])
    expect(load.texts(page, '.image-count')).toEqual(['图片 2'])
    expect(load.texts(page, '.section-tag')).toEqual(['就医经验', '就医经验'])
    expect(load.texts(page, '.author')).toEqual(['小艾', '小艾'])

    load.queryAll(page, '.tab')[2].dispatchEvent('tap')
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/board/posts')[1].query).toEqual({ section: 'consult', sort: 'latest', page: '1', page_size: '20' })
    expect(load.texts(page, '.post-title')).toEqual(['高血压怎么调理'])
    expect(load.query(page, '.section-tag')).toBeNull() // one section: no tag needed

    load.queryAll(page, '.sort')[1].dispatchEvent('tap')
    await load.flush()
    expect(env.backend.callsTo('GET /api/v1/board/posts')[2].query.sort).toBe('active')

    await load.tap(page, '.compose')
    await load.tap(page, '.post')
    await load.tap(page, '.mine-link')
    expect(env.navigations).toEqual([
      '/packages/board/post/index?section=consult', '/packages/board/detail/index?id=3', '/packages/board/mine/index'])
  })

  test('more at the bottom, and an empty board invites the first post', async () => {
    env.backend.on('GET /api/v1/board/sections', B.SECTIONS)
    const many = (from, n) => Array.from({ length: n }, (_, i) => B.post(from + i))
    env.backend.on('GET /api/v1/board/posts', (req) => (req.query.page === '1'
      ? B.pageOf(many(1, 20), 23) : B.pageOf(many(21, 3), 23, 2)))
    const page = await load.loadPage(PAGE)
    await page.instance.onReachBottom()
    await load.flush()
    expect(load.queryAll(page, '.post')).toHaveLength(23)
    expect(load.text(page, '.more')).toBe('没有更多了')

    env.backend.on('GET /api/v1/board/posts', B.pageOf([]))
    await page.instance.onPullDownRefresh()
    await load.flush()
    expect(load.text(page, '.message')).toBe('还没有帖子,来发第一帖吧')
  })
})

describe('帖子详情 packages/board/detail', () => {
  const PAGE = 'packages/board/detail/index'

  function backend(post = B.post(1, { imageIds: [7, 8], reply_count: 2 })) {
    env.backend.on('GET /api/v1/board/posts/{post_id}', post)
    env.backend.on('GET /api/v1/board/posts/{post_id}/images/{file_id}', '')
    env.backend.on('GET /api/v1/board/posts/{post_id}/replies', B.pageOf([B.reply(11), B.reply(12, { is_mine: true, author: { nickname: '我', avatar_url: null } })]))
  }

  test('the post with its images (downloaded with the token) and the replies in order', async () => {
    backend()
    const page = await load.loadPage(PAGE, { id: '1' })
    expect(load.text(page, '.post-title')).toBe('帖子1')
    expect(load.text(page, '.post-body')).toBe('正文1\n第二行')
    expect(env.downloads.map((u) => u.replace(/^https?:\/\/[^/]+/, ''))).toEqual([
      '/api/v1/board/posts/1/images/7', '/api/v1/board/posts/1/images/8'])
    expect(load.queryAll(page, '.image')).toHaveLength(2)
    expect(load.texts(page, '.reply-body')).toEqual(['回复11', '回复12'])
    expect(load.texts(page, '.floor')).toEqual(['1 楼', '2 楼'])
    expect(load.text(page, '.replies-title')).toBe('全部回复 2')
    // someone else's reply can be reported, mine deleted; the post is not mine: 举报
    expect(load.queryAll(page, '.report-reply')).toHaveLength(1)
    expect(load.queryAll(page, '.delete-reply')).toHaveLength(1)
    expect(load.query(page, '.delete-post')).toBeNull()
  })

  test('a reply is sent, then the replies reload; a banned word is explained', async () => {
    backend()
    const page = await load.loadPage(PAGE, { id: '1' })
    await load.tap(page, '.send')
    expect(env.toasts).toEqual(['请输入回复内容'])
    env.backend.on('POST /api/v1/board/posts/{post_id}/replies', respond(422, {
      code: 'banned_word', message: '内容包含违禁词「代开发票」,请修改后再发布', details: { body: ['内容包含违禁词「代开发票」,请修改后再发布'] } }))
    page.instance.onReplyInput(detail({ value: '可以代开发票' }))
    await load.tap(page, '.send')
    expect(env.toasts.pop()).toBe('内容包含违禁词「代开发票」,请修改后再发布')
    expect(page.instance.data.replyText).toBe('可以代开发票') // kept to be corrected

    env.backend.on('POST /api/v1/board/posts/{post_id}/replies', respond(201, B.reply(13, { is_mine: true })))
    page.instance.onReplyInput(detail({ value: '  谢谢分享  ' }))
    await load.tap(page, '.send')
    expect(env.backend.callsTo('POST /api/v1/board/posts/{post_id}/replies').pop().data).toEqual({ body: '谢谢分享' })
    expect(page.instance.data.replyText).toBe('')
    expect(env.backend.callsTo('GET /api/v1/board/posts/{post_id}/replies')).toHaveLength(2)
  })

  test('report the post with a chosen reason; a second report shows the server’s answer', async () => {
    backend()
    wx.showActionSheet = (o) => setTimeout(() => o.success({ tapIndex: 0 }), 0)
    env.backend.on('POST /api/v1/board/posts/{post_id}/reports', respond(201, { id: 1, target_type: 'post', target_id: 1, status: 'open', created_at: '2026-01-05T10:00:00+08:00' }))
    env.backend.on('POST /api/v1/board/replies/{reply_id}/reports', respond(409, { code: 'already_reported', message: '您已举报过该内容,请等待处理' }))
    const page = await load.loadPage(PAGE, { id: '1' })
    await load.tap(page, '.report-post')
    expect(env.backend.callsTo('POST /api/v1/board/posts/{post_id}/reports')[0].data).toEqual({ reason: '广告或推销' })
    expect(env.toasts.pop()).toBe('已举报,感谢反馈')
    await load.tap(page, '.report-reply')
    expect(env.backend.callsTo('POST /api/v1/board/replies/{reply_id}/reports')[0].path).toBe('/api/v1/board/replies/11/reports')
    expect(env.toasts.pop()).toBe('您已举报过该内容,请等待处理')
  })

  test('my post can be deleted after a confirmation', async () => {
    backend(B.post(1, { is_mine: true }))
    env.backend.on('DELETE /api/v1/board/posts/{post_id}', respond(204, null))
    const page = await load.loadPage(PAGE, { id: '1' })
    expect(load.query(page, '.report-post')).toBeNull()
    await load.tap(page, '.delete-post')
    expect(env.backend.callsTo('DELETE /api/v1/board/posts/{post_id}')).toHaveLength(1)
    expect(env.toasts.pop()).toBe('已删除')
  })

  test('a hidden or deleted post (404) says it is gone, with no reply box', async () => {
    env.backend.on('GET /api/v1/board/posts/{post_id}', respond(404, { code: 'post_not_found', message: '帖子不存在或已被删除' }))
    const page = await load.loadPage(PAGE, { id: '5' })
    expect(load.text(page, '.message')).toBe('帖子不存在或已被删除')
    expect(load.query(page, '.reply-input')).toBeNull()
    expect(env.backend.callsTo('GET /api/v1/board/posts/{post_id}/replies')).toHaveLength(0)
    expect(env.toasts).toEqual([])
  })
})

describe('发帖 packages/board/post', () => {
  const PAGE = 'packages/board/post/index'

  function backend() {
    env.backend.on('GET /api/v1/board/sections', B.SECTIONS)
    let next = 100
    env.backend.on('POST /api/v1/files', (req) => respond(201, {
      id: next += 1, purpose: req.data.purpose, content_type: 'image/jpeg', size_bytes: 2048, original_name: null, created_at: '2026-01-05T09:00:00+08:00' }))
  }

  test('section from the list, own checks first, images uploaded as board_image, then the post', async () => {
    backend()
    env.backend.on('POST /api/v1/board/posts', respond(201, B.post(9)))
    wx.chooseMedia = (o) => setTimeout(() => o.success({ tempFiles: [{ tempFilePath: 'wxfile://a.jpg' }, { tempFilePath: 'wxfile://b.jpg' }] }), 0)
    const page = await load.loadPage(PAGE, { section: 'care' })
    expect(load.text(page, '.chip--active')).toBe('陪护交流')
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['标题需 2–64 字'])
    expect(load.texts(page, '.field-error')).toEqual(['标题需 2–64 字', '请输入正文'])

    await load.tap(page, '.add-photo')
    await load.flush()
    expect(env.backend.callsTo('POST /api/v1/files').map((u) => [u.filePath, u.data.purpose])).toEqual([
      ['wxfile://a.jpg', 'board_image'], ['wxfile://b.jpg', 'board_image']])
    await load.tap(page, '.remove')
    page.instance.onTitle(detail({ value: ' 夜间陪护经验 ' }))
    page.instance.onBody(detail({ value: '记得带充电宝' }))
    await load.tap(page, '.submit')
    expect(env.backend.callsTo('POST /api/v1/board/posts')[0].data).toEqual({
      section: 'care', title: '夜间陪护经验', body: '记得带充电宝', image_ids: [102] })
    expect(env.navigations).toEqual(['/packages/board/detail/index?id=9'])
  })

  test('no section picked is caught here; markup refused by the server shows under its field', async () => {
    backend()
    env.backend.on('POST /api/v1/board/posts', respond(422, {
      code: 'markup_not_allowed', message: '内容不能包含 HTML 标签或脚本,请只输入纯文本',
      details: { body: ['内容不能包含 HTML 标签或脚本,请只输入纯文本'] } }))
    const page = await load.loadPage(PAGE)
    page.instance.onTitle(detail({ value: '标题标题' }))
    page.instance.onBody(detail({ value: '<script>alert(1)</script>' }))
    await load.tap(page, '.submit')
    expect(env.toasts).toEqual(['请选择版块'])
    load.queryAll(page, '.chip')[1].dispatchEvent('tap')
    await load.tap(page, '.submit')
    expect(env.backend.callsTo('POST /api/v1/board/posts')[0].data.section).toBe('consult')
    expect(load.text(page, '.field-error')).toBe('内容不能包含 HTML 标签或脚本,请只输入纯文本')
    expect(env.navigations).toEqual([])
  })
})

describe('我的帖子 packages/board/mine, and the entries', () => {
  test('my posts, newest first; an empty list offers 去发帖', async () => {
    env.backend.on('GET /api/v1/board/mine', B.pageOf([B.post(4, { is_mine: true, reply_count: 1 })]))
    const page = await load.loadPage('packages/board/mine/index')
    expect(load.texts(page, '.post-title')).toEqual(['帖子4'])
    expect(load.text(page, '.reply-count')).toBe('1 回复')
    await load.tap(page, '.post')
    expect(env.navigations).toEqual(['/packages/board/detail/index?id=4'])

    env.backend.on('GET /api/v1/board/mine', B.pageOf([]))
    await page.instance.onPullDownRefresh()
    await load.flush()
    expect(load.text(page, '.message')).toBe('还没有发过帖子')
  })

  test('首页 opens 讨论区', async () => {
    env.backend.on('GET /api/v1/hospitals', B.pageOf([]))
    env.backend.on('GET /api/v1/notifications', B.pageOf([]))
    const home = await load.loadPage('pages/home/index')
    await load.tap(home, '.board-entry')
    expect(env.navigations).toEqual(['/packages/board/list/index'])
  })

  test('我的 opens 我的帖子', async () => {
    env.backend.on('GET /api/v1/me', { id: 1, nickname: '张三', phone_bound: true, phone: '138****0000', real_name_status: 'verified' })
    env.backend.on('GET /api/v1/caregiver/me', respond(404, { code: 'not_found', message: '还不是护工' }))
    const me = await load.loadPage('pages/me/index')
    const labels = load.texts(me, '.cell-label')
    load.queryAll(me, '.cell')[labels.indexOf('我的帖子')].dispatchEvent('tap')
    await load.flush()
    expect(env.navigations.pop()).toBe('/packages/board/mine/index')
  })
})
