// The discussion board (讨论区): sections, posts (newest or latest reply first), a post with its
// replies, posting (images uploaded first through services/files.js with PURPOSES.boardImage,
// their ids in image_ids), replying, deleting one's own, and reporting. Text is plain text: the
// API refuses HTML tags (markup_not_allowed) and banned words (banned_word) with a message that
// says so. Post images need the token: show them through files.download(image.url).
const { call } = require('./request')

const ENDPOINTS = {
  sections: ['GET', '/api/v1/board/sections'],
  posts: ['GET', '/api/v1/board/posts'],
  create: ['POST', '/api/v1/board/posts'],
  mine: ['GET', '/api/v1/board/mine'],
  detail: ['GET', '/api/v1/board/posts/{post_id}'],
  remove: ['DELETE', '/api/v1/board/posts/{post_id}'],
  replies: ['GET', '/api/v1/board/posts/{post_id}/replies'],
  reply: ['POST', '/api/v1/board/posts/{post_id}/replies'],
  removeReply: ['DELETE', '/api/v1/board/replies/{reply_id}'],
  reportPost: ['POST', '/api/v1/board/posts/{post_id}/reports'],
  reportReply: ['POST', '/api/v1/board/replies/{reply_id}/reports'],
}

const MAX_IMAGES = 9

// → [{code, name}]
const sections = (opts) => call(ENDPOINTS.sections, opts)
// query: {section, sort: 'latest' | 'active', page, page_size} → page of Post
const posts = (query, opts) => call(ENDPOINTS.posts, { ...opts, query })
// data: {section, title, body, image_ids} → PostDetail (201)
const create = (data, opts) => call(ENDPOINTS.create, { ...opts, data })
// query: {page, page_size} → page of the caller's visible posts
const mine = (query, opts) => call(ENDPOINTS.mine, { ...opts, query })
const detail = (id, opts) => call(ENDPOINTS.detail, { ...opts, params: { post_id: id } })
const remove = (id, opts) => call(ENDPOINTS.remove, { ...opts, params: { post_id: id } })
// oldest first
const replies = (id, query, opts) => call(ENDPOINTS.replies, { ...opts, params: { post_id: id }, query })
const reply = (id, body, opts) => call(ENDPOINTS.reply, { ...opts, params: { post_id: id }, data: { body } })
const removeReply = (id, opts) => call(ENDPOINTS.removeReply, { ...opts, params: { reply_id: id } })
// once per user and item (409 already_reported)
const reportPost = (id, reason, opts) => call(ENDPOINTS.reportPost, { ...opts, params: { post_id: id }, data: { reason } })
const reportReply = (id, reason, opts) => call(ENDPOINTS.reportReply, { ...opts, params: { reply_id: id }, data: { reason } })

module.exports = {
  ENDPOINTS, MAX_IMAGES, sections, posts, create, mine, detail, remove, replies, reply, removeReply,
  reportPost, reportReply,
}
