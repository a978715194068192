// The set-up page tests share: before each test fresh modules, the fake wx and its backend, and
// the page loader; after each, mocks restored and the backend's check (every request in the
// API document, every body valid).
//
//   let env
//   let load
//   usePageTest((installed) => { ({ env, load } = installed) })
const { installWx } = require('./wx')

function usePageTest(receive) {
  let env
  beforeEach(() => {
    jest.resetModules()
    env = installWx()
    receive({ env, load: require('./load') })
  })
  afterEach(() => {
    jest.restoreAllMocks()
    env.backend.check()
  })
}

module.exports = { usePageTest }
