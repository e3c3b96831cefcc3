// TEST_SPEC (comma-separated globs) narrows the run: scripts/test.sh runs the tests
// that run once, on the newest Node, as a run of their own.
// forbidPending and forbidOnly: a skipped test (it.skip, this.skip(), a test without a
// body) or a stray .only fails the run, so nothing passes by not running. A test that
// needs a server installs or starts it, or fails saying what to install.
module.exports = {
  spec: process.env.TEST_SPEC ? process.env.TEST_SPEC.split(',') : ['build/test/**/*.test.js'],
  require: ['build/test/hooks.js'],
  timeout: 60000,
  reporter: 'spec',
  forbidPending: true,
  forbidOnly: true,
};
