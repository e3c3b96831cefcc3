import { collectChain } from '../src/classify/chain.js';
import { isObjectLike, readCode, readProperty } from '../src/classify/safe.js';

/**
 * Failures that prove the request never left this process: the connection it needed
 * could not be made, so nothing was written and the call may be sent again whatever it
 * does (a POST, an INCR, an INSERT). Every adapter's replay decision starts here.
 *
 * The proof is the shape of an error in the failure or the errors it wraps (fetch's
 * "fetch failed" keeps the real one in `cause`; a refused `localhost` is an
 * AggregateError of one refusal per address):
 * - a system error raised by the `connect` system call (`syscall: 'connect'`: refused,
 *   unreachable, timed out before the handshake) or by name resolution
 *   (`syscall: 'getaddrinfo'`);
 * - a code only connecting can produce: ECONNREFUSED, DNS failures (ENOTFOUND,
 *   EAI_AGAIN...), undici's UND_ERR_CONNECT_TIMEOUT, Node's happy-eyeballs
 *   ERR_SOCKET_CONNECTION_TIMEOUT.
 * Not proof: ECONNRESET, EPIPE, "socket hang up", ETIMEDOUT without `syscall: 'connect'`
 * (a reused keep-alive connection fails with those after the request was written).
 */

const CONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EAI_FAIL',
  'EAI_NODATA',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

const CONNECT_SYSCALLS: ReadonlySet<string> = new Set(['connect', 'getaddrinfo']);

/** Whether `failure`, or an error it wraps, shows the connection was never made. Never throws. */
export function isConnectFailure(failure: unknown): boolean {
  try {
    for (const node of collectChain(failure)) {
      if (!isObjectLike(node)) continue;
      const code = readCode(node);
      if (typeof code === 'string' && CONNECT_CODES.has(code)) return true;
      const syscall = readProperty(node, 'syscall');
      if (typeof syscall === 'string' && CONNECT_SYSCALLS.has(syscall)) return true;
    }
  } catch {
    // when unsure, the request may have been sent
  }
  return false;
}
