// Loading components and Component()-pages through miniprogram-simulate.
//
//   const { renderComponent, loadPage } = require('./helpers/load')
//   const card = renderComponent('components/order-card/index', { kind: 'registration', order })
//   const page = await loadPage('pages/orders/index', { kind: 'care_order' })  // runs onLoad(query)
//   load.text(page, '.title'); load.texts(page, '.line'); await load.tap(page, '.card')
//   (query / queryAll / text / texts / tap look inside child components too)
//
// Call jest.resetModules() before each test (simulate cannot load one path twice otherwise);
// require these helpers after it, inside the test or beforeEach.
const path = require('path')
const { flush } = require('./wx')

const ROOT = path.resolve(__dirname, '..', '..')
// 'simulate' is the pure-JS WXML compiler; MP_COMPILER=official uses the bundled wcc (x86-64)
const COMPILER = process.env.MP_COMPILER || 'simulate'

function simulate() {
  return require('miniprogram-simulate')
}

function render(relPath, props) {
  const sim = simulate()
  const id = sim.load(path.join(ROOT, relPath), { compiler: COMPILER, rootPath: ROOT })
  const comp = sim.render(id, props || {})
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

// A component with its properties; events: comp.addEventListener('open', fn)
function renderComponent(relPath, props) {
  return render(relPath, props)
}

// A page written with Component(): simulate does not drive page lifecycles, so this calls
// onLoad(query) (and onShow with {show: true}) and waits for the requests to settle.
async function loadPage(relPath, query = {}, { show = false } = {}) {
  const page = render(relPath)
  const { instance } = page
  if (instance.onLoad) await instance.onLoad(query)
  if (show && instance.onShow) await instance.onShow()
  await flush()
  return page
}

// querySelectorAll that also looks inside child components (j-component's own stops at the
// component's shadow tree): '.title' finds the titles inside every <order-card> as well.
function queryAll(comp, selector) {
  const found = []
  const seen = new Set()
  const visit = (node) => {
    const root = node.shadowRoot
    if (root && typeof root.querySelectorAll === 'function') {
      root.querySelectorAll(selector).forEach((n) => {
        if (!seen.has(n)) { seen.add(n); found.push(n) }
      })
      visit(root)
    }
    (node.childNodes || []).forEach((child) => { if (child.childNodes) visit(child) })
  }
  visit(comp._exparserNode)
  // j-component's node wrapper: the base class of the RootComponent that render() returns
  const Node = Object.getPrototypeOf(comp.constructor.prototype).constructor
  return found.map((n) => n.__componentNode__ || new Node(n))
}

const query = (comp, selector) => queryAll(comp, selector)[0] || null

// Taps the first element matching selector (deep) and lets handlers and requests settle.
async function tap(comp, selector) {
  const node = query(comp, selector)
  if (!node) throw new Error(`nothing matches ${selector}`)
  node.dispatchEvent('tap')
  await flush()
}

const text = (comp, selector) => {
  const node = query(comp, selector)
  return node ? node.dom.textContent.trim() : null
}

const texts = (comp, selector) => queryAll(comp, selector).map((n) => n.dom.textContent.trim())

module.exports = { ROOT, renderComponent, loadPage, query, queryAll, tap, text, texts, flush }
