// The gallery's render step, run by gallery/render.js through jest (the same jsdom environment
// and module resetting the page tests use; not part of `npm test`): every page in app.json
// and every component in components/ is rendered through miniprogram-simulate against the
// fake wx and fake backend of tests/helpers, with gallery/fixtures.js's answers, and written
// as one HTML file each into GALLERY_OUT, listed in GALLERY_MANIFEST (a JSON file).
//
// A page whose API answers are not in the fixtures is still rendered: every operation of
// tests/openapi.json answers an empty 200 body (an empty page of items, [] or {}) and the
// manifest says which ones were used.
const fs = require('fs')
const path = require('path')

const ROOT = path.resolve(__dirname, '..')
const OUT = process.env.GALLERY_OUT || path.join(__dirname, 'html')
const MANIFEST = process.env.GALLERY_MANIFEST || path.join(OUT, 'manifest.json')
const ONLY = (process.env.GALLERY_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean)
const LOAD_TIMEOUT = 3000

const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))

function listPages() {
  const pages = (app.pages || []).slice()
  ;(app.subpackages || app.subPackages || []).forEach((sub) => {
    (sub.pages || []).forEach((p) => pages.push(path.posix.join(sub.root, p)))
  })
  return pages
}

function listComponents() {
  const dir = path.join(ROOT, 'components')
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir).sort()
    .filter((name) => fs.existsSync(path.join(dir, name, 'index.json')))
    .map((name) => `components/${name}/index`)
}

// 'pages/home/index' → 'home'; 'packages/booking/hospitals/index' → 'booking-hospitals';
// 'components/state-view/index' → 'component-state-view'
function nameOf(rel) {
  const parts = rel.replace(/\/index$/, '').split('/')
  if (parts[0] === 'pages') return parts.slice(1).join('-')
  if (parts[0] === 'packages') return parts.slice(1).join('-')
  if (parts[0] === 'components') return `component-${parts.slice(1).join('-')}`
  return parts.join('-')
}

const wanted = (rel) => !ONLY.length || ONLY.some((o) => rel.includes(o) || nameOf(rel) === o)

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    return {}
  }
}

// The empty 200 answer of an operation, from its response schema
function emptyAnswer(op, doc) {
  const resp = op.responses && (op.responses['200'] || op.responses['201'])
  let schema = resp && resp.content && resp.content['application/json'] && resp.content['application/json'].schema
  for (let i = 0; schema && i < 5; i += 1) {
    if (schema.$ref) schema = doc.components.schemas[schema.$ref.split('/').pop()]
    else if (schema.allOf && schema.allOf.length === 1) schema = schema.allOf[0]
    else break
  }
  if (!schema) return {}
  if (schema.type === 'array') return []
  if (schema.properties && schema.properties.items) return { items: [], total: 0, page: 1, page_size: 20 }
  return {}
}

// Every operation of the API document answers something (lowest priority), the fixtures win
function installBackend(env) {
  const { loadDocument } = require('../tests/helpers/openapi')
  const { doc } = loadDocument()
  const fallbacks = new Set()
  const routes = []
  Object.keys(doc.paths).forEach((template) => {
    Object.keys(doc.paths[template]).forEach((method) => {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) return
      routes.push({ route: `${method.toUpperCase()} ${template}`, op: doc.paths[template][method], templated: template.includes('{') })
    })
  })
  // templated paths first: later routes take priority, so literal paths win over {param} ones
  routes.sort((a, b) => Number(b.templated) - Number(a.templated))
  routes.forEach(({ route, op }) => env.backend.on(route, () => {
    fallbacks.add(route)
    return emptyAnswer(op, doc)
  }))
  require('./fixtures').install(env.backend)
  return fallbacks
}

// Extra wx behaviour the gallery needs beyond tests/helpers/wx
function installGalleryWx(state) {
  const later = (fn) => setTimeout(fn, 0)
  Object.assign(global.wx, {
    setNavigationBarTitle: (o = {}) => {
      state.title = o.title
      later(() => o.success && o.success({ errMsg: 'setNavigationBarTitle:ok' }))
    },
    getWindowInfo: () => ({ windowWidth: 375, windowHeight: 812, screenWidth: 375, screenHeight: 812, pixelRatio: 1, statusBarHeight: 44, safeArea: { top: 44, bottom: 778, left: 0, right: 375, width: 375, height: 734 } }),
  })
}

// Waits for a lifecycle call (a promise or not), at most LOAD_TIMEOUT; notes what went wrong
async function settle(label, fn, notes) {
  let result
  try {
    result = fn()
  } catch (err) {
    notes.push(`${label} threw: ${err && err.message}`)
    return
  }
  if (!result || typeof result.then !== 'function') return
  let timer
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), LOAD_TIMEOUT) })
  const outcome = await Promise.race([
    result.then(() => 'ok', (err) => { notes.push(`${label} rejected: ${err && err.message}`); return 'error' }),
    timeout,
  ])
  clearTimeout(timer)
  if (outcome === 'timeout') notes.push(`${label} did not finish within ${LOAD_TIMEOUT / 1000} s`)
}

const manifest = []

function write(name, html) {
  fs.mkdirSync(OUT, { recursive: true })
  const file = path.join(OUT, `${name}.html`)
  fs.writeFileSync(file, html)
  return file
}

function pageFrame(rel) {
  const pageJson = readJson(path.join(ROOT, `${rel}.json`))
  const win = app.window || {}
  return {
    title: pageJson.navigationBarTitleText || win.navigationBarTitleText || '',
    nav: {
      background: pageJson.navigationBarBackgroundColor || win.navigationBarBackgroundColor,
      textStyle: pageJson.navigationBarTextStyle || win.navigationBarTextStyle,
      pageBackground: pageJson.backgroundColor || win.backgroundColor,
    },
  }
}

async function renderPage(rel) {
  const html = require('./html')
  const { installWx, flush } = require('../tests/helpers/wx')
  const F = require('./fixtures')
  const name = nameOf(rel)
  const entry = { name, path: rel, kind: 'page', notes: [], fallbacks: [], error: null }
  const env = installWx()
  const fallbacks = installBackend(env)
  const state = { title: null }
  installGalleryWx(state)
  const query = F.QUERIES[rel] || F.DEFAULT_QUERY
  const frame = pageFrame(rel)
  const tabBar = app.tabBar && app.tabBar.list && app.tabBar.list.some((t) => t.pagePath === rel) ? app.tabBar : null
  let body = ''
  try {
    const sim = require('miniprogram-simulate')
    const id = sim.load(path.join(ROOT, rel), { compiler: process.env.MP_COMPILER || 'simulate', rootPath: ROOT })
    const page = sim.render(id, {})
    page.attach(document.createElement('parent-wrapper'))
    const inst = page.instance
    if (typeof inst.onLoad === 'function') await settle('onLoad', () => inst.onLoad(query), entry.notes)
    if (typeof inst.onShow === 'function') await settle('onShow', () => inst.onShow(), entry.notes)
    if (typeof inst.onReady === 'function') await settle('onReady', () => inst.onReady(), entry.notes)
    await flush(10)
    body = html.serializeChildren(page.dom, ROOT)
    try {
      if (typeof inst.onUnload === 'function') inst.onUnload()
      page.detach()
    } catch (err) {
      // only cleaning up timers
    }
  } catch (err) {
    entry.error = `render failed: ${err && err.message}`
    body = ''
  }
  entry.fallbacks = Array.from(fallbacks)
  entry.requests = env.backend.calls.length
  env.backend.problems.filter((p) => !/^no handler/.test(p)).forEach((p) => entry.notes.push(p))
  let css = ''
  try {
    css = html.cssFor(ROOT, rel, { isPage: true })
  } catch (err) {
    entry.notes.push(`WXSS not converted: ${err.message}`)
  }
  entry.html = write(name, html.documentHtml({
    title: state.title || frame.title, css, body, nav: frame.nav, tabBar, activeTab: rel,
    notes: entry.error ? [entry.error] : [],
  }))
  manifest.push(entry)
}

async function renderComponent(rel, variants) {
  const html = require('./html')
  const { installWx, flush } = require('../tests/helpers/wx')
  const name = nameOf(rel)
  const entry = { name, path: rel, kind: 'component', notes: [], fallbacks: [], error: null }
  installWx()
  const sim = require('miniprogram-simulate')
  const parts = []
  try {
    const id = sim.load(path.join(ROOT, rel), { compiler: process.env.MP_COMPILER || 'simulate', rootPath: ROOT })
    const list = variants && variants.length ? variants : [{ label: '(no fixture: default properties)', props: {} }]
    if (!variants || !variants.length) entry.notes.push('no fixture in gallery/fixtures.js COMPONENTS: default properties')
    for (const v of list) {
      const comp = sim.render(id, v.props)
      comp.attach(document.createElement('parent-wrapper'))
      await flush(3)
      parts.push(`<div class="gx-variant">${html.esc(v.label)}</div><div>${html.serializeChildren(comp.dom, ROOT)}</div>`)
      comp.detach()
    }
  } catch (err) {
    entry.error = `render failed: ${err && err.message}`
  }
  let css = ''
  try {
    css = html.cssFor(ROOT, rel, { isPage: false })
  } catch (err) {
    entry.notes.push(`WXSS not converted: ${err.message}`)
  }
  const frame = pageFrame('app')
  entry.html = write(name, html.documentHtml({
    title: `组件 ${rel.split('/')[1]}`, css, body: `<div class="gx-sheet">${parts.join('')}</div>`, nav: frame.nav,
    tabBar: null, notes: entry.error ? [entry.error] : [],
  }))
  manifest.push(entry)
}

beforeEach(() => {
  jest.resetModules()
})

afterAll(() => {
  fs.mkdirSync(path.dirname(MANIFEST), { recursive: true })
  fs.writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2))
})

const pages = listPages().filter(wanted)
const components = listComponents().filter(wanted)

pages.forEach((rel) => {
  test(`page ${rel}`, () => renderPage(rel))
})

components.forEach((rel) => {
  test(`component ${rel}`, () => renderComponent(rel, require('./fixtures').COMPONENTS[rel]))
})

if (!pages.length && !components.length) {
  test('nothing to render', () => {})
}
