// TEST_SPEC (comma-separated globs) narrows the run: scripts/test.sh runs the tests
// that run once, on the newest Node, as a run of their own.
module.exports = {
  spec: process.env.TEST_SPEC ? process.env.TEST_SPEC.split(',') : ['build/test/**/*.test.js'],
  require: ['build/test/hooks.js'],
  timeout: 60000,
  reporter: 'spec',
};
