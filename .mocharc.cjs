module.exports = {
  spec: ['build/test/**/*.test.js'],
  require: ['build/test/hooks.js'],
  timeout: 60000,
  reporter: 'spec',
};
