// Only services/request.js may call wx.request and only services/files.js wx.uploadFile and
// wx.downloadFile:
// pages and components go through the service modules (token, re-login, error toasts).
const fs = require('fs')
const path = require('path')

const ROOT = path.join(__dirname, '..')
const ALLOWED = {
  'services/request.js': ['request'],
  'services/files.js': ['uploadFile', 'downloadFile'],
}
const SKIP = new Set(['node_modules', 'tests', '.git'])
// wx.request(…), wx['request'], wx.uploadFile, and aliases such as `const r = wx.request`
const PATTERN = /\bwx\s*(?:\.\s*(request|uploadFile|downloadFile)\b|\[\s*['"`](request|uploadFile|downloadFile)['"`]\s*\])/g

// Comments may name wx.request; code may not. Block comments go whole; a line comment starts
// at // after a space or the line start (so "http://…" in a string stays). Lines are kept.
function stripComments(source) {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/(^|\s)\/\/.*$/gm, '$1')
    .replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, ' '))
}

function sourceFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return []
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return /\.(js|wxs|wxml)$/.test(entry.name) ? [full] : []
  })
}

test('no page, component or other module calls wx.request / wx.uploadFile directly', () => {
  const offenders = []
  sourceFiles(ROOT).forEach((file) => {
    const rel = path.relative(ROOT, file).split(path.sep).join('/')
    const source = stripComments(fs.readFileSync(file, 'utf8'))
    for (const match of source.matchAll(PATTERN)) {
      const api = match[1] || match[2]
      if (!(ALLOWED[rel] || []).includes(api)) {
        const line = source.slice(0, match.index).split('\n').length
        offenders.push(`${rel}:${line} calls wx.${api} (use a services/ module)`)
      }
    }
  })
  expect(offenders).toEqual([])
})

test('the scan sees through aliases and brackets, not comments', () => {
  const found = (code) => [...stripComments(code).matchAll(PATTERN)].length
  expect(found('const r = wx.request; r({})')).toBe(1)
  expect(found("wx['uploadFile']({})")).toBe(1)
  expect(found('wx . request({ url })')).toBe(1)
  expect(found('// pages never call wx.request\n/* nor wx.uploadFile */')).toBe(0)
  expect(found("const u = 'http://x' ; wx.request({})")).toBe(1)
})

test('the allowed callers really are where the network calls live', () => {
  const read = (rel) => fs.readFileSync(path.join(ROOT, rel), 'utf8')
  expect(read('services/request.js')).toMatch(/wx\.request\(/)
  expect(read('services/files.js')).toMatch(/wx\.uploadFile\(/)
  expect(read('services/files.js')).toMatch(/wx\.downloadFile\(/)
})
