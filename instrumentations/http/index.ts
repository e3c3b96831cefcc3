export { createHttpAdapter } from './instrumentation.js';
