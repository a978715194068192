// How the board's pages show a post or a reply (shared by list, mine and detail).
const { dateTime } = require('../../utils/format')

// "刚刚" / "5 分钟前" / "3 小时前" within a day, then the date and time
function when(value, now = Date.now()) {
  const t = new Date(value).getTime()
  if (Number.isNaN(t)) return ''
  const minutes = Math.floor((now - t) / 60000)
  if (minutes < 1) return '刚刚'
  if (minutes < 60) return `${minutes} 分钟前`
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} 小时前`
  return dateTime(value)
}

function postView(p) {
  return {
    id: p.id,
    title: p.title,
    excerpt: p.excerpt,
    body: p.body || '',
    section: p.section_name || '',
    author: p.author.nickname,
    initial: (p.author.nickname || '微')[0],
    time: when(p.created_at),
    replies: p.reply_count,
    imageCount: p.images.length,
    images: p.images.map((i) => ({ id: i.id, url: i.url, path: '' })),
    mine: p.is_mine,
  }
}

function replyView(r, floor) {
  return {
    id: r.id,
    body: r.body,
    author: r.author.nickname,
    initial: (r.author.nickname || '微')[0],
    time: when(r.created_at),
    floor,
    mine: r.is_mine,
  }
}

module.exports = { when, postView, replyView }
