import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { connect, type Socket } from 'node:net';

/**
 * PostgreSQL's cancel request for a query breakwater gave up on (attempt timeout or the
 * caller's abort). Without it the abandoned statement keeps running on the server and,
 * on a `pg.Client`, every later query queues behind it. node-postgres has no public
 * cancel, so this does what pg's `Client.prototype.cancel` does: a separate connection
 * that sends only the CancelRequest message (processID and secretKey of the backend, as
 * the Client received them in BackendKeyData) and closes.
 *
 * The connection is a plain `net` socket, not a pg Client: breakwater never wraps it, so
 * it is never retried nor recorded as a call, and it runs with tracing suppressed so
 * that a `net` instrumentation records nothing either. Failures are swallowed: the
 * caller already has its error.
 */

/** What is read of a pg 8 Client (its internals; any of them missing means no cancel). */
export interface CancellableClient {
  readonly processID?: unknown;
  readonly secretKey?: unknown;
  readonly host?: unknown;
  readonly port?: unknown;
  readonly pipeline?: unknown;
  readonly _activeQuery?: unknown;
  readonly _queryQueue?: unknown;
  readonly _sentQueryQueue?: unknown;
}

/** A cancel connection that neither connects nor closes within this is dropped. */
const CANCEL_CONNECTION_TIMEOUT_MS = 5000;

const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678, the protocol's cancel code

interface BackendKey {
  processID: number;
  secretKey: number;
  host: string;
  port: number;
}

function backendKeyOf(client: CancellableClient): BackendKey | undefined {
  const { processID, secretKey, host, port } = client;
  if (!Number.isInteger(processID) || !Number.isInteger(secretKey)) return undefined;
  if (typeof host !== 'string' || host === '') return undefined;
  const portNumber = typeof port === 'string' ? Number(port) : port;
  if (typeof portNumber !== 'number' || !Number.isInteger(portNumber)) return undefined;
  return { processID: processID as number, secretKey: secretKey as number, host, port: portNumber };
}

function cancelRequestBytes(key: BackendKey): Buffer {
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  message.writeInt32BE(key.processID, 8);
  message.writeInt32BE(key.secretKey, 12);
  return message;
}

/**
 * Sends the cancel request for the client's backend. `stillWanted` is asked once the
 * cancel connection is up: the query may have finished meanwhile, and a cancel arriving
 * then would hit the next statement on that backend. `onClosed` runs once the cancel
 * connection is closed (the server closes it after acting on the request) or when no
 * request could be sent: from then on the backend can take another statement safely.
 */
export function sendCancelRequest(client: CancellableClient, stillWanted: () => boolean = () => true, onClosed?: () => void): void {
  // Once: the server has read the request (it closes the connection then), or none was sent.
  let closed = false;
  const done = (): void => {
    if (closed) return;
    closed = true;
    try {
      onClosed?.();
    } catch {
      // the caller's callback is not ours to fail on
    }
  };
  try {
    const key = backendKeyOf(client);
    if (key === undefined) return done();
    context.with(suppressTracing(context.active()), () => {
      // Same addressing as pg: a host starting with '/' is a Unix socket directory.
      const socket: Socket = key.host.startsWith('/') ? connect(`${key.host}/.s.PGSQL.${key.port}`) : connect(key.port, key.host);
      socket.unref();
      socket.setTimeout(CANCEL_CONNECTION_TIMEOUT_MS, () => socket.destroy());
      socket.on('error', () => socket.destroy());
      socket.once('close', done);
      socket.once('connect', () => {
        let wanted = false;
        try {
          wanted = stillWanted();
        } catch {
          wanted = false;
        }
        if (wanted) socket.end(cancelRequestBytes(key));
        else socket.destroy();
      });
    });
  } catch {
    // never into the caller's code
    done();
  }
}

function queriesOf(client: CancellableClient): unknown[] {
  const queries: unknown[] = [];
  if (client._activeQuery !== null && client._activeQuery !== undefined) queries.push(client._activeQuery);
  if (Array.isArray(client._queryQueue)) queries.push(...(client._queryQueue as unknown[]));
  if (Array.isArray(client._sentQueryQueue)) queries.push(...(client._sentQueryQueue as unknown[]));
  return queries;
}

/**
 * Runs `send` (the client's original query call) and returns, with its result, pg's
 * Query object it created: the one entry of the client's queues that was not there
 * before. `undefined` when it cannot be told (pg rejected the call at once, or its
 * internals differ): no cancel is then sent.
 */
export function sendAndFindQuery<R>(client: CancellableClient, send: () => R): { result: R; query: object | undefined } {
  let before: Set<unknown> | undefined;
  try {
    before = new Set(queriesOf(client));
  } catch {
    before = undefined;
  }
  const result = send();
  let query: object | undefined;
  try {
    if (before !== undefined) {
      const added = queriesOf(client).filter((q) => !before.has(q));
      if (added.length === 1 && typeof added[0] === 'object') query = added[0] as object;
    }
  } catch {
    query = undefined;
  }
  return { result, query };
}

/**
 * What to do with a `client.query` breakwater abandoned: the running statement gets a
 * cancel request (sent only if it is still the running one when the cancel connection is
 * up); a query still waiting in the client's queue is taken out of it and failed with
 * `reason`, as pg's own `cancel` and read timeout do, so it never runs. In pipeline mode
 * several statements share the backend and a cancel could hit another caller's: nothing
 * is done there.
 */
export function cancelAbandonedQuery(client: CancellableClient, query: object | undefined, reason: unknown): void {
  try {
    if (query === undefined || client.pipeline === true) return;
    if (client._activeQuery === query) {
      sendCancelRequest(client, () => client._activeQuery === query);
      return;
    }
    const queue = client._queryQueue;
    if (!Array.isArray(queue)) return;
    const index = queue.indexOf(query);
    if (index < 0) return;
    queue.splice(index, 1);
    const callback = (query as { callback?: unknown }).callback;
    if (typeof callback === 'function') callback.call(query, reason instanceof Error ? reason : new Error('breakwater: query abandoned'));
  } catch {
    // never into the caller's code
  }
}
