/**
 * `node --require breakwater/register app.js` or `node --import breakwater/register app.js`.
 * Both load this CommonJS build (see package.json "exports"), so one process never
 * holds two copies of the adapters and their per-target state.
 */
import { start } from './start.js';

start();
