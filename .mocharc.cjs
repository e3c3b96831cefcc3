module.exports = {
  spec: ['build/test/**/*.test.js'],
  timeout: 60000,
  reporter: 'spec',
};
