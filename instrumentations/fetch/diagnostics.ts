import { context, createContextKey } from '@opentelemetry/api';
import type { Attributes, Context } from '@opentelemetry/api';
import diagnostics from 'node:diagnostics_channel';
import type { Attempt } from '../../src/engine/attempt.js';
import { redactQuery } from '../http/attributes.js';
import {
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_USER_AGENT_ORIGINAL,
} from '../kit/semconv.js';

/**
 * What only undici itself knows of an attempt's request, read where the official
 * @opentelemetry/instrumentation-undici reads it: its diagnostics channels, which both
 * Node's bundled undici (global fetch) and the npm package publish on.
 *
 * - `undici:request:create`: the request's origin and path (`url.full`, `url.path`,
 *   `url.query`, query values REDACTED) and its User-Agent, as undici will send them
 *   (fetch adds its default one). Published synchronously while our attempt's call
 *   runs, so the attempt is found in the active context (attemptContext); the request
 *   object is remembered for the messages that follow.
 * - `undici:client:sendHeaders`: the socket it goes out on (`network.peer.address`,
 *   `network.peer.port`, `network.protocol.version`, the version on the duration
 *   point too). Published from whichever context wrote it: found by the request.
 *
 * No other header is read. Nothing here throws into undici: a message breakwater
 * cannot read is ignored.
 */

const ATTEMPT = createContextKey('breakwater fetch attempt');
const attemptOfRequest = new WeakMap<object, Attempt>();

/** The context an attempt's original call runs in, so the channels find the attempt. */
export function attemptContext(base: Context, attempt: Attempt): Context {
  return base.setValue(ATTEMPT, attempt);
}

const CREATE = 'undici:request:create';
const SEND_HEADERS = 'undici:client:sendHeaders';

interface UndiciRequest {
  origin?: unknown;
  path?: unknown;
  headers?: unknown;
}

/** The last User-Agent of undici's request headers (a flat `[name, value, ...]` array since undici 6). */
function userAgentOf(headers: unknown): string | undefined {
  if (!Array.isArray(headers)) return undefined;
  let found: unknown;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name: unknown = headers[i];
    if (typeof name === 'string' && name.length === 10 && name.toLowerCase() === 'user-agent') found = headers[i + 1];
  }
  if (Array.isArray(found)) found = found[found.length - 1];
  return typeof found === 'string' ? found : undefined;
}

function onRequestCreated(message: unknown): void {
  try {
    const attempt = context.active().getValue(ATTEMPT) as Attempt | undefined;
    if (attempt === undefined) return;
    const request = (message as { request?: UndiciRequest }).request;
    if (typeof request !== 'object' || request === null) return;
    attemptOfRequest.set(request, attempt);
    const url = new URL(String(request.path), String(request.origin));
    const query = url.search.length > 1 ? `?${redactQuery(url.search.slice(1))}` : url.search;
    const attributes: Attributes = {
      [ATTR_URL_FULL]: `${url.protocol}//${url.host}${url.pathname}${query}`,
      [ATTR_URL_PATH]: url.pathname,
      [ATTR_URL_QUERY]: query,
    };
    const userAgent = userAgentOf(request.headers);
    if (userAgent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = userAgent;
    attempt.annotate(attributes);
  } catch {
    // a request breakwater cannot read is recorded without these attributes
  }
}

// undici only offers http/1.1 and, with allowH2, h2 over ALPN (the official instrumentation's reading).
const HTTP_11 = Object.freeze({ [ATTR_NETWORK_PROTOCOL_VERSION]: '1.1' });
const HTTP_2 = Object.freeze({ [ATTR_NETWORK_PROTOCOL_VERSION]: '2' });

function onSendHeaders(message: unknown): void {
  try {
    const { request, socket } = message as { request?: object; socket?: { remoteAddress?: unknown; remotePort?: unknown; alpnProtocol?: unknown } };
    const attempt = request === undefined ? undefined : attemptOfRequest.get(request);
    if (attempt === undefined || socket === undefined) return;
    const version = socket.alpnProtocol === 'h2' ? HTTP_2 : HTTP_11;
    const attributes: Attributes = { ...version };
    if (typeof socket.remoteAddress === 'string') attributes[ATTR_NETWORK_PEER_ADDRESS] = socket.remoteAddress;
    if (typeof socket.remotePort === 'number') attributes[ATTR_NETWORK_PEER_PORT] = socket.remotePort;
    attempt.annotate(attributes, version);
  } catch {
    // as above
  }
}

/** Listens on undici's channels until the returned function is called. */
export function subscribeToUndici(): () => void {
  diagnostics.subscribe(CREATE, onRequestCreated);
  diagnostics.subscribe(SEND_HEADERS, onSendHeaders);
  return () => {
    diagnostics.unsubscribe(CREATE, onRequestCreated);
    diagnostics.unsubscribe(SEND_HEADERS, onSendHeaders);
  };
}

/**
 * Whether @opentelemetry/instrumentation-undici listens too. It records
 * `http.client.request.duration` for every real request, inside our attempts as well
 * (its spans are suppressed there, its metric is not), so breakwater then records no
 * second point. Recognised by its bound `onRequestCreated` among the channel's
 * subscribers (Node keeps them in `_subscribers`, 20 to 24); when Node stops exposing
 * them, the answer is false and both points are recorded (docs/adapters/fetch.md).
 */
export function officialRecordsDuration(): boolean {
  try {
    const subscribers = (diagnostics.channel(CREATE) as unknown as { _subscribers?: unknown })._subscribers;
    if (!Array.isArray(subscribers)) return false;
    for (const subscriber of subscribers) if (typeof subscriber === 'function' && subscriber.name === 'bound onRequestCreated') return true;
    return false;
  } catch {
    return false;
  }
}
