// The gallery's HTML side: WXSS → CSS (rpx at a 375 px screen, classes prefixed the way
// miniprogram-simulate prefixes them in the rendered tree), and the rendered tree (the real
// DOM that simulate's exparser composes, plus the WXML attributes it keeps on each node) →
// one self-contained HTML document with a WeChat-like status bar, navigation bar and tab bar.
//
// Plain Node (no jsdom needed for the CSS part); serialize() takes a DOM node from simulate.
const fs = require('fs')
const path = require('path')
const postcss = require('postcss')
const simWxss = require('miniprogram-simulate/src/wxss')

const SCREEN = { width: 375, height: 812 }
const RPX = SCREEN.width / 750 // 1rpx = 0.5px
const FONT_FALLBACK = '"WenQuanYi Zen Hei"'

// WXML built-in components: their tag selectors in WXSS mean wx-<tag> in the rendered tree
const OFFICIAL_TAGS = ['view', 'scroll-view', 'swiper', 'swiper-item', 'movable-area', 'movable-view',
  'cover-view', 'cover-image', 'icon', 'text', 'rich-text', 'progress', 'button', 'checkbox',
  'checkbox-group', 'form', 'input', 'label', 'picker', 'picker-view', 'radio', 'radio-group', 'slider',
  'switch', 'textarea', 'navigator', 'audio', 'image', 'video', 'camera', 'map', 'canvas', 'web-view']

// "24rpx" → "12px", "1rpx" → "0.5px", "-8rpx" → "-4px"
function convertRpx(css) {
  return String(css).replace(/(-?\d*\.?\d+)rpx\b/gi, (all, n) => {
    const px = Math.round(parseFloat(n) * RPX * 1000) / 1000
    return `${px}px`
  })
}

const TAG_RE = new RegExp(`(^|[\\s>+~,(])(page|${OFFICIAL_TAGS.join('|')})(?=$|[\\s.#:\\[>+~,)])`, 'g')

// postcss pass after simulate's class prefixing: tag selectors → wx-*, page → wx-page,
// 100vh → the page area's height (cqh), and the CJK font as the last fallback
const wechatPlugin = postcss.plugin('gallery-wechat', () => (root) => {
  root.walkRules((rule) => {
    if (rule.parent && rule.parent.type === 'atrule' && /keyframes$/i.test(rule.parent.name)) return
    rule.selectors = rule.selectors.map((s) => s.replace(TAG_RE, (all, before, tag) => `${before}wx-${tag}`))
  })
  root.walkDecls((decl) => {
    if (/vh\b/.test(decl.value)) decl.value = decl.value.replace(/(-?\d*\.?\d+)vh\b/g, '$1cqh')
    if (/^font-family$/i.test(decl.prop) && !/WenQuanYi/i.test(decl.value)) {
      decl.value = `${decl.value}, ${FONT_FALLBACK}`
    }
  })
})

// One WXSS file (its @imports inlined) → CSS with the class prefix simulate gave that tree
function compileWxss(file, prefix, { onlyPageRule = false } = {}) {
  if (!fs.existsSync(file)) return ''
  let wxss = convertRpx(simWxss.getContent(file))
  if (onlyPageRule) {
    // components are isolated from app.wxss's classes; they inherit only what `page` sets
    const root = postcss.parse(wxss)
    root.each((node) => {
      if (node.type !== 'rule' || !node.selectors.every((s) => s.trim() === 'page')) node.remove()
    })
    wxss = root.toString()
  }
  const prefixed = simWxss.compile(wxss, { prefix })
  return postcss([wechatPlugin]).process(prefixed, { from: undefined }).css
}

// The components a page or component uses, with the prefix simulate gives each: the same
// depth-first walk and "first key wins per path" as miniprogram-simulate's register().
function componentTree(rootDir, compPath, tagName = 'main', seen = new Map()) {
  if (seen.has(compPath)) return seen
  seen.set(compPath, tagName)
  let json = {}
  try {
    json = JSON.parse(fs.readFileSync(`${compPath}.json`, 'utf8'))
  } catch (err) {
    return seen
  }
  const using = json.usingComponents || {}
  Object.keys(using).forEach((key) => {
    const value = using[key]
    const usingPath = /^\//.test(value) ? path.join(rootDir, value) : path.join(path.dirname(compPath), value)
    if (fs.existsSync(`${usingPath}.json`)) componentTree(rootDir, usingPath, key, seen)
  })
  return seen
}

// All the CSS for one rendered tree: app.wxss (pages only: its classes reach the page, and
// its `page` rule in any case), then every component's own, each with its prefix.
function cssFor(rootDir, relPath, { isPage }) {
  const parts = [compileWxss(path.join(rootDir, 'app.wxss'), 'main', { onlyPageRule: !isPage })]
  componentTree(rootDir, path.join(rootDir, relPath)).forEach((prefix, compPath) => {
    parts.push(compileWxss(`${compPath}.wxss`, prefix))
  })
  return parts.join('\n')
}

// WeChat's own look for the built-in components (style v2, WeUI 2) and the page frame
const BASE_CSS = `
html, body { margin: 0; padding: 0; }
body { width: ${SCREEN.width}px; height: ${SCREEN.height}px; overflow: hidden; display: flex; flex-direction: column;
  font-family: -apple-system, "PingFang SC", "Helvetica Neue", sans-serif, ${FONT_FALLBACK};
  -webkit-font-smoothing: antialiased; -webkit-text-size-adjust: 100%; }
.gx-status { flex: none; height: 44px; display: flex; align-items: center; justify-content: space-between; padding: 0 28px;
  font: 600 15px/1 -apple-system, sans-serif, ${FONT_FALLBACK}; }
.gx-nav { flex: none; position: relative; height: 44px; display: flex; align-items: center; justify-content: center;
  font-size: 17px; font-weight: 600; }
.gx-nav-title { max-width: 200px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.gx-back { position: absolute; left: 18px; top: 16px; width: 10px; height: 10px; border-left: 2px solid currentColor;
  border-bottom: 2px solid currentColor; transform: rotate(45deg); }
.gx-capsule { position: absolute; right: 7px; top: 6px; width: 87px; height: 32px; box-sizing: border-box;
  border: 0.5px solid rgba(0,0,0,.15); border-radius: 16px; background: rgba(255,255,255,.6); display: flex; align-items: center; }
.gx-capsule i { flex: 1; text-align: center; font-style: normal; font-size: 16px; letter-spacing: 1px; }
.gx-capsule b { width: 0.5px; height: 18px; background: rgba(0,0,0,.15); }
.gx-viewport { flex: 1; position: relative; overflow: hidden; transform: translateZ(0); container-type: size; }
.gx-tabbar { flex: none; display: flex; height: 49px; padding-bottom: 34px; border-top: 0.5px solid rgba(0,0,0,.2); }
.gx-tab { flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: center; font-size: 10px; }
.gx-tab-icon { width: 24px; height: 24px; margin-bottom: 3px; border-radius: 6px; border: 2px solid currentColor; box-sizing: border-box; }
.gx-tab--active .gx-tab-icon { background: currentColor; }
.gx-note { position: absolute; left: 8px; right: 8px; bottom: 8px; z-index: 9999; padding: 6px 8px; border-radius: 6px;
  background: rgba(250, 81, 81, .92); color: #fff; font-size: 11px; line-height: 1.4; word-break: break-all; }
.gx-sheet { padding: 8px 0 24px; }
.gx-variant { margin: 12px 12px 4px; font-size: 12px; color: #888; }
wx-page { display: block; min-height: 100%; }
wx-view, wx-scroll-view, wx-swiper, wx-swiper-item, wx-form, wx-navigator, wx-picker, wx-picker-view,
wx-movable-area, wx-cover-view, wx-checkbox-group, wx-radio-group, wx-rich-text { display: block; }
wx-text { display: inline; }
wx-label { display: inline; }
[hidden] { display: none !important; }
wx-scroll-view { overflow: hidden; }
wx-scroll-view[scroll-x] { overflow-x: auto; white-space: nowrap; }
wx-scroll-view[scroll-y] { overflow-y: auto; }
::-webkit-scrollbar { display: none; }
wx-swiper { position: relative; height: 150px; overflow: hidden; }
wx-swiper-item { width: 100%; height: 100%; }
wx-swiper-item ~ wx-swiper-item { display: none; }
wx-image { display: inline-block; overflow: hidden; width: 320px; height: 240px; }
wx-image > img { display: block; width: 100%; height: 100%; object-fit: fill; }
wx-image[mode=aspectFill] > img { object-fit: cover; }
wx-image[mode=aspectFit] > img { object-fit: contain; }
wx-image[mode=widthFix] { height: auto; }
wx-image[mode=widthFix] > img { height: auto; }
wx-input { display: block; height: 1.4rem; min-height: 1.4rem; overflow: hidden; white-space: nowrap; }
wx-input > input, wx-textarea > textarea { display: block; box-sizing: border-box; width: 100%; height: 100%; margin: 0; padding: 0;
  border: 0; outline: 0; background: transparent; font: inherit; color: inherit; text-align: inherit; line-height: inherit; resize: none; }
wx-input > input::placeholder, wx-textarea > textarea::placeholder { color: #808080; opacity: 1; }
wx-textarea { display: block; width: 300px; height: 150px; }
wx-button { position: relative; display: block; box-sizing: border-box; width: 184px; margin: 0 auto; padding: 12px 24px;
  font-size: 17px; font-weight: 700; line-height: 1.41176471; text-align: center; border-radius: 8px; overflow: hidden;
  color: #06ae56; background-color: #f2f2f2; }
wx-button[type=primary] { color: #fff; background-color: #07c160; }
wx-button[type=warn] { color: #fa5151; background-color: #f2f2f2; }
wx-button[disabled] { color: rgba(0,0,0,.18); background-color: rgba(0,0,0,.05); }
wx-button[size=mini] { display: inline-block; width: auto; padding: 0 0.75em; font-size: 13px; line-height: 2.3; }
wx-button[plain] { border: 1px solid #353535; color: #353535; background-color: transparent; }
wx-button[plain][type=primary] { border-color: #07c160; color: #07c160; }
wx-button[plain][type=warn] { border-color: #fa5151; color: #fa5151; }
wx-switch { display: inline-block; vertical-align: middle; }
.gx-switch { display: inline-block; position: relative; width: 52px; height: 32px; border-radius: 16px; box-sizing: border-box;
  border: 1px solid #dfdfdf; background: #dfdfdf; vertical-align: middle; }
.gx-switch::after { content: ""; position: absolute; top: 0; left: 0; width: 30px; height: 30px; border-radius: 15px; background: #fff;
  box-shadow: 0 1px 3px rgba(0,0,0,.4); }
wx-switch[checked] .gx-switch { border-color: var(--gx-color, #04be02); background: var(--gx-color, #04be02); }
wx-switch[checked] .gx-switch::after { left: 20px; }
wx-checkbox, wx-radio { display: inline-block; vertical-align: middle; }
.gx-box { display: inline-block; position: relative; width: 22px; height: 22px; margin-right: 5px; vertical-align: middle;
  box-sizing: border-box; border: 1px solid #d1d1d1; border-radius: 3px; background: #fff; }
wx-radio .gx-box { border-radius: 50%; }
wx-checkbox[checked] .gx-box::after, wx-radio[checked] .gx-box::after { content: "✓"; position: absolute; inset: 0;
  text-align: center; line-height: 20px; font-size: 16px; color: var(--gx-color, #09bb07); }
wx-radio[checked] .gx-box { background: var(--gx-color, #09bb07); border-color: var(--gx-color, #09bb07); }
wx-radio[checked] .gx-box::after { color: #fff; }
wx-icon { display: inline-block; vertical-align: middle; border-radius: 50%; color: #fff; text-align: center; }
wx-progress { display: flex; align-items: center; }
.gx-progress { flex: 1; height: 6px; background: #ebebeb; }
.gx-progress > i { display: block; height: 100%; background: #09bb07; }
wx-slider { display: block; margin: 10px 18px; }
.gx-slider { position: relative; height: 2px; background: #e9e9e9; }
.gx-slider > i { display: block; height: 100%; background: #1aad19; }
wx-map, wx-video, wx-camera, wx-canvas { display: block; width: 300px; height: 150px; background: #ddd; }
`

// Where an <image>'s picture comes from: data: URIs and files of the mini-program as they are;
// anything else (the API's photo URLs, the web) becomes a grey placeholder: no network.
const svg = (inner) => `data:image/svg+xml;utf8,${encodeURIComponent(
  `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">${inner}</svg>`)}`
// a person for caregiver photos and avatars, a picture for anything else
const PLACEHOLDER = svg('<rect width="120" height="120" fill="#d8dde3"/><circle cx="60" cy="46" r="22" fill="#b4bcc6"/>'
  + '<path d="M18 120c4-28 22-40 42-40s38 12 42 40z" fill="#b4bcc6"/>')
const PICTURE = svg('<rect width="120" height="120" fill="#e3e7ec"/><circle cx="84" cy="38" r="11" fill="#c3cad3"/>'
  + '<path d="M0 120l38-52 26 32 16-18 40 38z" fill="#c3cad3"/>')

function imageSrc(rootDir, src) {
  if (!src) return ''
  if (/^data:/.test(src)) return src
  if (!/^[a-z]+:/i.test(src) && !/^\/\//.test(src)) {
    const file = path.resolve(rootDir, src.replace(/^\//, ''))
    if (file.startsWith(rootDir) && fs.existsSync(file)) return `file://${file}`
  }
  return /caregivers\/\d+\/photo|avatar/i.test(src) ? PLACEHOLDER : PICTURE
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const escAttr = (s) => esc(s).replace(/"/g, '&quot;')

// WXML attributes that are not shown as HTML attributes on a built-in component
const SKIP_ATTR = /^(class|style|id|hidden|slot|wx:.*|data-.*|bind.*|catch.*|capture-.*|mut-bind.*|model:.*|generic:.*)$/

function attrList(node) {
  const ex = node.__wxElement
  const attrs = (ex && ex._vt && ex._vt.attrs) || []
  const out = {}
  attrs.forEach(({ name, value }) => { out[name] = value })
  return out
}

const truthy = (v) => v !== undefined && v !== null && v !== false && v !== '' && v !== 'false'

// The rendered tree (simulate's composed DOM) → HTML; built-in components stay wx-* elements
// (WeChat renders them so too) with real <input>/<img>/… inside where the browser needs one.
function serialize(node, rootDir) {
  if (node.nodeType === 3) return esc(node.nodeValue)
  if (node.nodeType !== 1) return ''
  const tag = node.tagName.toLowerCase()
  if (tag === 'style' || tag === 'script') return ''
  const wxml = attrList(node)
  const attrs = []
  const cls = node.getAttribute('class')
  if (cls) attrs.push(`class="${escAttr(cls)}"`)
  if (node.id) attrs.push(`id="${escAttr(node.id)}"`)
  const style = wxml.style !== undefined ? wxml.style : node.getAttribute('style')
  const styles = style ? [convertRpx(style)] : []
  if (truthy(wxml.hidden)) attrs.push('hidden')
  const isBuiltin = /^wx-/.test(tag)
  if (isBuiltin) {
    Object.keys(wxml).forEach((name) => {
      if (SKIP_ATTR.test(name)) return
      const v = wxml[name]
      if (typeof v === 'object' || !truthy(v)) return
      attrs.push(v === true ? name : `${name}="${escAttr(v)}"`)
    })
    if (wxml.color) styles.push(`--gx-color:${wxml.color}`)
  }
  let inner = Array.prototype.map.call(node.childNodes, (c) => serialize(c, rootDir)).join('')
  switch (tag) {
    case 'wx-input': {
      const type = truthy(wxml.password) ? 'password' : 'text'
      inner = `<input type="${type}" value="${escAttr(wxml.value == null ? '' : wxml.value)}"`
        + ` placeholder="${escAttr(wxml.placeholder || '')}"${truthy(wxml.disabled) ? ' disabled' : ''}>`
      break
    }
    case 'wx-textarea':
      inner = `<textarea placeholder="${escAttr(wxml.placeholder || '')}">${esc(wxml.value == null ? '' : wxml.value)}</textarea>`
      break
    case 'wx-image':
      inner = `<img src="${escAttr(imageSrc(rootDir, wxml.src))}" alt="">`
      break
    case 'wx-switch':
      inner = '<span class="gx-switch"></span>'
      break
    case 'wx-checkbox':
    case 'wx-radio':
      inner = `<span class="gx-box"></span>${inner}`
      break
    case 'wx-icon': {
      const size = parseFloat(wxml.size) || 23
      const colors = { success: '#09bb07', success_no_circle: '#09bb07', info: '#10aeff', warn: '#f76260', waiting: '#10aeff', cancel: '#f43530', download: '#09bb07', search: '#b2b2b2', clear: '#b2b2b2' }
      const glyphs = { success: '✓', success_no_circle: '✓', info: 'i', warn: '!', waiting: '…', cancel: '×', clear: '×', search: '⌕', download: '↓' }
      styles.push(`width:${size}px;height:${size}px;line-height:${size}px;font-size:${Math.round(size * 0.6)}px;background:${wxml.color || colors[wxml.type] || '#b2b2b2'}`)
      inner = esc(glyphs[wxml.type] || '')
      break
    }
    case 'wx-progress': {
      const pct = Math.max(0, Math.min(100, Number(wxml.percent) || 0))
      inner = `<span class="gx-progress"><i style="width:${pct}%"></i></span>`
      break
    }
    case 'wx-slider': {
      const min = Number(wxml.min) || 0
      const max = Number(wxml.max) || 100
      const pct = max > min ? ((Number(wxml.value) || min) - min) / (max - min) * 100 : 0
      inner = `<span class="gx-slider"><i style="width:${pct}%"></i></span>`
      break
    }
    case 'wx-rich-text':
      if (typeof wxml.nodes === 'string') inner = wxml.nodes.replace(/<script[\s\S]*?<\/script>/gi, '')
      break
    default:
  }
  if (styles.length) attrs.push(`style="${escAttr(styles.join(';'))}"`)
  return `<${tag}${attrs.length ? ` ${attrs.join(' ')}` : ''}>${inner}</${tag}>`
}

// The page's children (simulate's <main> host is the page itself) → the inside of <wx-page>
function serializeChildren(node, rootDir) {
  return Array.prototype.map.call(node.childNodes, (c) => serialize(c, rootDir)).join('')
}

// One HTML document: status bar, navigation bar (title, back arrow off the tab pages, the
// capsule), the page area (position: fixed inside it is fixed to it) and, on tab pages, the tab bar.
function documentHtml({ title, css, body, nav, tabBar, activeTab, notes }) {
  const navBg = nav.background || '#ededed'
  const navFg = nav.textStyle === 'white' ? '#fff' : '#000'
  const tabs = tabBar ? `<div class="gx-tabbar" style="background:${escAttr(tabBar.backgroundColor || '#fff')}">${
    tabBar.list.map((t) => {
      const active = t.pagePath === activeTab
      const color = active ? (tabBar.selectedColor || '#07c160') : (tabBar.color || '#7f7f7f')
      return `<div class="gx-tab${active ? ' gx-tab--active' : ''}" style="color:${escAttr(color)}">`
        + `<span class="gx-tab-icon"></span><span>${esc(t.text)}</span></div>`
    }).join('')}</div>` : ''
  const noteHtml = notes && notes.length ? `<div class="gx-note">${notes.map(esc).join('<br>')}</div>` : ''
  return `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=${SCREEN.width}, initial-scale=1">
<title>${esc(title)}</title>
<style>${BASE_CSS}</style>
<style>${css}</style>
</head><body>
<div class="gx-status" style="background:${escAttr(navBg)};color:${navFg}"><span>9:41</span><span>●●● ▮</span></div>
<div class="gx-nav" style="background:${escAttr(navBg)};color:${navFg}">${tabBar ? '' : '<span class="gx-back"></span>'}<span class="gx-nav-title">${esc(title)}</span><span class="gx-capsule"><i>···</i><b></b><i>◎</i></span></div>
<div class="gx-viewport" style="background:${escAttr(nav.pageBackground || '#ededed')}">
<wx-page>${body}</wx-page>
${noteHtml}
</div>
${tabs}
</body></html>
`
}

module.exports = {
  SCREEN, RPX, convertRpx, compileWxss, componentTree, cssFor, serialize, serializeChildren,
  documentHtml, imageSrc, PLACEHOLDER, esc,
}
