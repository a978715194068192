// The message inbox (站内消息) and its unread count (the 消息 tab's badge).
const { call } = require('./request')

const ENDPOINTS = {
  list: ['GET', '/api/v1/notifications'],
  unreadCount: ['GET', '/api/v1/notifications/unread-count'],
  read: ['POST', '/api/v1/notifications/{notification_id}/read'],
  readAll: ['POST', '/api/v1/notifications/read-all'],
}

// query: {unread: true, page, page_size}
const list = (query, opts) => call(ENDPOINTS.list, { ...opts, query })
const unreadCount = async (opts) => (await call(ENDPOINTS.unreadCount, opts)).unread
const read = (id, opts) => call(ENDPOINTS.read, { ...opts, params: { notification_id: id } })
const readAll = (opts) => call(ENDPOINTS.readAll, opts)

const INBOX_TAB_INDEX = 2 // 消息 in app.json's tabBar.list

// Shows the unread count on the 消息 tab (or removes the badge at 0); errors stay silent.
async function refreshBadge() {
  try {
    const count = await unreadCount({ toast: false })
    if (count > 0) {
      wx.setTabBarBadge({ index: INBOX_TAB_INDEX, text: count > 99 ? '99+' : String(count) })
    } else {
      wx.removeTabBarBadge({ index: INBOX_TAB_INDEX })
    }
    return count
  } catch (e) {
    return null
  }
}

module.exports = { ENDPOINTS, INBOX_TAB_INDEX, list, unreadCount, read, readAll, refreshBadge }
