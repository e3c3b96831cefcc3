import { makeResult } from './defaults.js';
import { ATTEMPT_TIMEOUT_CODE, BULKHEAD_FULL_CODE, CIRCUIT_OPEN_CODE, DEADLINE_EXCEEDED_CODE, HEDGE_CANCELLED_CODE, LIMITED_CODE } from '../errors.js';
import type { Classification } from './types.js';

/** breakwater's own errors (src/errors.ts), by their stable `code`. */
export const BREAKWATER_RULE = 'builtin:breakwater';

const OWN_CODES: ReadonlyMap<string, Classification> = new Map([
  [CIRCUIT_OPEN_CODE, makeResult('circuit_open', CIRCUIT_OPEN_CODE, BREAKWATER_RULE)],
  [BULKHEAD_FULL_CODE, makeResult('resource', BULKHEAD_FULL_CODE, BREAKWATER_RULE)],
  [ATTEMPT_TIMEOUT_CODE, makeResult('timeout', ATTEMPT_TIMEOUT_CODE, BREAKWATER_RULE)],
  // The whole call's deadline is spent: another attempt has no time left to run in, so an
  // outer policy wrapping this one must not retry it.
  [DEADLINE_EXCEEDED_CODE, makeResult('timeout', DEADLINE_EXCEEDED_CODE, BREAKWATER_RULE, { transient: false })],
  // Turned away before it was sent, for the dependency's sake: never retried against it.
  [LIMITED_CODE, makeResult('resource', LIMITED_CODE, BREAKWATER_RULE, { transient: false })],
  [HEDGE_CANCELLED_CODE, makeResult('cancelled', HEDGE_CANCELLED_CODE, BREAKWATER_RULE)],
]);

export function classifyBreakwaterCode(code: string): Classification | undefined {
  return OWN_CODES.get(code);
}
