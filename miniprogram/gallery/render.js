#!/usr/bin/env node
// The page gallery: every page of app.json (tab pages and subpackages) and every component,
// rendered with fixture data through miniprogram-simulate, turned into HTML + CSS (rpx at a
// 375 px screen) and photographed at 375 × 812 by headless Chromium from Debian's packages.
//
//   npm run gallery                 (or `make gallery` from the repository root)
//   node gallery/render.js --only home,care-search     a few pages (name or path part)
//
// Writes gallery/html/<name>.html and gallery/<name>.png (neither is committed), prints one
// line per page: name, PNG, pixel size, file size, and notes (API calls that had no fixture
// and got an empty answer, lifecycle errors). Exits non-zero when a page or component could
// not be rendered or a screenshot failed. CHROMIUM=/path overrides the browser.
//
// Steps: gallery/collect.js runs under jest (jsdom, fake wx + backend from tests/helpers) and
// writes the HTML files and manifest.json; then one Chromium per file takes the screenshot.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawn, spawnSync } = require('child_process')

const ROOT = path.resolve(__dirname, '..')
const GALLERY = __dirname
const HTML_DIR = path.join(GALLERY, 'html')
const { SCREEN } = require('./html')
const CONCURRENCY = 2
const SHOT_TIMEOUT = 60000

function parseArgs(argv) {
  const args = { only: '' }
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--only') args.only = argv[++i] || ''
    else if (argv[i].startsWith('--only=')) args.only = argv[i].slice(7)
    else if (argv[i] === '-h' || argv[i] === '--help') args.help = true
  }
  return args
}

function findChromium() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean)
  return candidates.find((c) => fs.existsSync(c)) || null
}

// Step 1: render every page to HTML (jest runs collect.js; its output is shown on failure)
// (HTML files are overwritten, not wiped first: two runs at once must not delete each other's)
function collect(only, manifestFile) {
  const config = {
    rootDir: ROOT,
    testEnvironment: 'jsdom',
    testMatch: ['<rootDir>/gallery/collect.js'],
    testTimeout: 120000,
  }
  const jestBin = require.resolve('jest/bin/jest', { paths: [ROOT] })
  const run = spawnSync(process.execPath, [jestBin, '--ci', '--runInBand', '--config', JSON.stringify(config)], {
    cwd: ROOT,
    env: { ...process.env, GALLERY_OUT: HTML_DIR, GALLERY_ONLY: only, GALLERY_MANIFEST: manifestFile },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (run.status !== 0 || !fs.existsSync(manifestFile)) {
    process.stderr.write(`${run.stdout || ''}${run.stderr || ''}`)
    process.stderr.write(`gallery: rendering the pages failed (jest exit ${run.status})\n`)
    process.exit(1)
  }
  return JSON.parse(fs.readFileSync(manifestFile, 'utf8'))
}

// Step 2: one headless Chromium per page; no network at all (every host name fails to resolve).
// The PNG is written in a temporary folder and moved into place when complete.
function screenshot(chromium, htmlFile, pngFile) {
  return new Promise((resolve) => {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gallery-chromium-'))
    const tmpPng = path.join(profile, 'shot.png')
    const args = [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-default-apps', '--disable-extensions', '--disable-sync',
      '--no-first-run', '--no-default-browser-check', '--mute-audio', '--hide-scrollbars',
      '--host-resolver-rules=MAP * ~NOTFOUND', `--user-data-dir=${profile}`,
      `--window-size=${SCREEN.width},${SCREEN.height}`, '--force-device-scale-factor=1',
      '--virtual-time-budget=2000', `--screenshot=${tmpPng}`, `file://${htmlFile}`,
    ]
    const child = spawn(chromium, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => { stderr += '\n(timed out)'; child.kill('SIGKILL') }, SHOT_TIMEOUT)
    const done = (code) => {
      clearTimeout(timer)
      const size = pngSize(tmpPng)
      // a failed shot leaves no PNG behind (not last run's, which would look current)
      if (size) fs.renameSync(tmpPng, pngFile)
      else fs.rmSync(pngFile, { force: true })
      fs.rmSync(profile, { recursive: true, force: true })
      resolve({ code, stderr, size })
    }
    child.on('error', (err) => { stderr += String(err); done(-1) })
    child.on('close', done)
  })
}

// {width, height} from a PNG's IHDR, or null when the file is not a PNG
function pngSize(file) {
  try {
    const buf = fs.readFileSync(file)
    if (buf.length < 24 || buf.toString('latin1', 1, 4) !== 'PNG') return null
    return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), bytes: buf.length }
  } catch (err) {
    return null
  }
}

async function pool(items, size, fn) {
  const results = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next
      next += 1
      results[i] = await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker))
  return results
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  if (args.help) {
    process.stdout.write('usage: node gallery/render.js [--only name,path-part,...]\n')
    return 0
  }
  if (!fs.existsSync(path.join(ROOT, 'tests', 'openapi.json'))) {
    process.stderr.write('gallery: miniprogram/tests/openapi.json is missing: from the repository root run\n'
      + '  .venv/bin/python scripts/export_openapi.py miniprogram/tests/openapi.json   (or `make gallery`)\n')
    return 1
  }
  const chromium = findChromium()
  if (!chromium) {
    process.stderr.write('gallery: no Chromium found (apt-get install chromium fonts-wqy-zenhei, or set CHROMIUM)\n')
    return 1
  }
  const manifestFile = path.join(os.tmpdir(), `gallery-manifest-${process.pid}-${Date.now()}.json`)
  let manifest
  try {
    manifest = collect(args.only, manifestFile)
  } finally {
    fs.rmSync(manifestFile, { force: true })
  }
  const results = await pool(manifest, CONCURRENCY, async (entry) => {
    const png = path.join(GALLERY, `${entry.name}.png`)
    const shot = await screenshot(chromium, entry.html, png)
    return { entry, png, size: shot.size, shot }
  })

  if (!args.only) {
    // the PNGs and HTML of pages that no longer exist
    const names = new Set(manifest.map((e) => e.name))
    const stale = (dir, ext) => fs.readdirSync(dir).filter((f) => f.endsWith(ext) && !names.has(f.slice(0, -ext.length)))
      .forEach((f) => fs.rmSync(path.join(dir, f), { force: true }))
    stale(GALLERY, '.png')
    stale(HTML_DIR, '.html')
  }

  let failed = 0
  const width = Math.max(...results.map((r) => r.entry.name.length), 10)
  results.forEach(({ entry, png, size, shot }) => {
    const rel = path.relative(process.cwd(), png)
    const notes = []
    if (entry.error) notes.push(`FAILED ${entry.error}`)
    if (entry.fallbacks.length) notes.push(`no fixture, empty answer: ${entry.fallbacks.join(', ')}`)
    notes.push(...entry.notes)
    let line
    if (!size) {
      failed += 1
      const why = (shot.stderr || '').trim().split('\n').filter((l) => !/^\[.*(dbus|Fontconfig)/i.test(l)).slice(-2).join(' ')
      line = `${entry.name.padEnd(width)}  ${rel}  SCREENSHOT FAILED (chromium exit ${shot.code}) ${why}`
    } else {
      if (entry.error) failed += 1
      const kb = `${(size.bytes / 1024).toFixed(1)} KB`
      line = `${entry.name.padEnd(width)}  ${rel}  ${size.width}x${size.height}  ${kb}`
    }
    process.stdout.write(`${line}${notes.length ? `  [${notes.join('; ')}]` : ''}\n`)
  })
  const pages = results.filter((r) => r.entry.kind === 'page').length
  process.stdout.write(`gallery: ${results.length - failed} of ${results.length} screenshots written `
    + `(${pages} pages, ${results.length - pages} components) in ${path.relative(process.cwd(), GALLERY) || '.'}/`
    + `${failed ? `, ${failed} FAILED` : ''}\n`)
  return failed ? 1 : 0
}

main().then((code) => { process.exitCode = code }, (err) => {
  process.stderr.write(`gallery: ${err && err.stack}\n`)
  process.exitCode = 1
})
