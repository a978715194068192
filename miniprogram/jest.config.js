// Tests run the real WXML/JS through miniprogram-simulate in jsdom (see README.md, "Tests").
module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/tests/**/*.test.js'],
  snapshotSerializers: ['miniprogram-simulate/jest-snapshot-plugin'],
  // the fake timers and module registry are reset by each test file as it needs
  clearMocks: true,
}
