import type { Attempt } from '../../src/engine/attempt.js';
import { ATTR_DB_RESPONSE_STATUS_CODE } from './semconv.js';
import { ATTR_ERROR_TYPE } from '../../src/telemetry/names.js';

/**
 * A failed database attempt's `db.response.status_code` (a SQLSTATE, a Redis error
 * prefix) on its span and its duration point, where `error.type` is the same code (the
 * conventions: error.type SHOULD match db.response.status_code). Not once the attempt is
 * over (timed out, cancelled): its span has ended.
 */
export function annotateFailureCode(attempt: Attempt | undefined, code: string | undefined): void {
  try {
    if (code === undefined || attempt === undefined || attempt.signal.aborted) return;
    attempt.annotate({ [ATTR_DB_RESPONSE_STATUS_CODE]: code }, { [ATTR_DB_RESPONSE_STATUS_CODE]: code, [ATTR_ERROR_TYPE]: code });
  } catch {
    // telemetry never fails the caller's call
  }
}
