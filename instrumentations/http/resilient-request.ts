import { context } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { OutgoingMessage } from 'node:http';
import type { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Stream } from 'node:stream';
import type { Attempt } from '../../src/engine/attempt.js';
import type { AttemptSpanOptions } from '../../src/telemetry/operation.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { callOriginal, injectContext } from '../kit/calls.js';
import { httpReplayDecision, isHedgeableRequest } from './replay.js';
import type { ReplayDecision } from '../../src/engine/policy.js';
import { bindListenersToContext } from './bind-listeners.js';
import { CancelSignal } from './cancel-signal.js';
import { RequestBody } from './request-body.js';
import type { BodyChunk, WriteCallback } from './request-body.js';
import { headerSetter, headersForAttempt, mergedOptions } from './request-options.js';
import type { RequestCall } from './request-options.js';
import { responseMetricAttributes, responseSpanAttributes } from './attributes.js';
import { abortError, alreadyFinishedError, checkChunk, destroyedError, socketHangUpError, writeAfterEndError } from './stream-errors.js';

/** OutgoingMessage#getRawHeaderNames (Node 15.13+), missing from @types/node 20. */
type HeaderSource = OutgoingMessage & { getRawHeaderNames(): string[] };

/** node:http's request function (http.request or https.request) as it was before breakwater. */
export type RequestFunction = (...args: unknown[]) => ClientRequest;

export interface ResilientRequestSetup {
  runtime: Runtime;
  original: RequestFunction;
  thisArg: unknown;
  /** The URL argument, passed to each attempt's real request as given (Node parses it there). */
  url: RequestCall['url'];
  /** A copy of the caller's options, without `signal` (this request handles it). */
  options: RequestCall['options'];
  signal: AbortSignal | undefined;
  method: string;
  target: string;
  attemptSpan: AttemptSpanOptions;
  callerContext: Context;
  /** The caller's idempotent() mark, read when the call was made. */
  idempotencyMark: boolean | undefined;
  /**
   * An OpenTelemetry API global was registered when the call began: the response's
   * attributes are recorded and listeners are kept in the caller's context. Without one
   * there is neither a span to annotate nor a context to lose.
   */
  telemetry: boolean;
}

/** A response the policy treats as a failure; the classifier says how (retry or not). */
export function isFailedResponse(res: IncomingMessage): unknown {
  return (res.statusCode ?? 0) >= 400 ? res : undefined;
}

/** How much of a real request's events reach the caller. */
const enum Forward {
  /** In the running: errors and close are the engine's business. */
  None,
  /** Failed for good: breakwater reported the error itself; its close ends the call. */
  Close,
  /** The request the caller now owns: everything, as Node emits it. */
  All,
}

/**
 * Events of a real request that reach the caller only if the caller listens for them:
 * a real request gets a listener for one of them once the caller has one (most callers
 * listen for none, and each listener costs on every attempt). The request's own
 * 'response', 'error' and 'close' are always listened to: they are the attempt's result.
 */
const FORWARDED_EVENTS: ReadonlyMap<string | symbol, number> = new Map([
  ['socket', 1],
  ['timeout', 2],
  ['information', 4],
  ['continue', 8],
  ['finish', 16],
  ['abort', 32],
]);

/** Writes while no real request takes them: this much is queued before write() says "wait for drain". */
const QUEUE_HIGH_WATER_MARK = 16 * 1024;

/** One real ClientRequest, made for one attempt. */
class Exchange {
  forward = Forward.None;
  errored = false;
  /** The attempt failed (an error or a failed response): a retry may still need the whole body. */
  failed = false;
  closed = false;
  ended = false;
  response: IncomingMessage | undefined;
  /** FORWARDED_EVENTS bits this request already forwards. */
  forwarding = 0;
  /** A 'drain' listener is on this request (added when a write to it was refused). */
  drainWatched = false;

  constructor(readonly real: ClientRequest) {}
}

/**
 * What `http.request` returns under breakwater: a ClientRequest-like object that the
 * caller writes to and listens on, while each attempt of the policy is a real
 * ClientRequest made through the original function with the same options and agent.
 *
 * - The first attempt's request is made at once (inside the call, when the policy
 *   admits it), so Node's synchronous errors (a bad header, an unknown protocol) are
 *   thrown to the caller as without breakwater, and the body streams to it as it is
 *   written. A copy of the body is kept up to MAX_REPLAYABLE_BODY_BYTES for retries.
 * - The caller gets `response` with the real IncomingMessage of the last attempt,
 *   unconsumed: a failed response that is retried is drained first; one that is not
 *   retried is the caller's, status, headers and body intact.
 * - An open breaker, a timeout of breakwater's, or the last error of a failed call
 *   arrive as the `error` event (the client's own error object, unwrapped).
 * - `destroy()`, `abort()` and `options.signal` cancel: the policy records the call
 *   as cancelled and does not retry; the caller sees Node's own events for it.
 * - Listeners run in the caller's OpenTelemetry context, not in the attempt's
 *   (suppressed) one.
 */
export class ResilientClientRequest extends Stream {
  aborted = false;
  res: IncomingMessage | null = null;

  private readonly setup: ResilientRequestSetup;
  private readonly body = new RequestBody();
  private readonly cancel = new CancelSignal();
  /** The latest attempt's request (the one in the running, or the last one made). */
  private exchange: Exchange | undefined;
  /** Backup attempts (hedges) running beside `exchange`; the one whose response wins replaces it. */
  private readonly hedges = new Set<Exchange>();
  /** Header store while no real request exists yet (the call waits for a bulkhead slot). */
  private headerStore: OutgoingMessage | undefined;
  private settled = false;
  private cancelled = false;
  private isDestroyed = false;
  private needDrain = false;
  private finishEmitted = false;
  /** FORWARDED_EVENTS bits the caller listens for (it once had a listener: never cleared). */
  private forwarded = 0;
  private closeEmitted = false;
  private flushRequested = false;
  private socketTimeoutMs: number | undefined;
  private noDelay: boolean | undefined;
  private keepAlive: [boolean | undefined, number | undefined] | undefined;
  private headersCountLimit: number | null = null;
  /** Set while the first attempt runs inside the caller's call: its synchronous error is rethrown there. */
  private starting = false;
  private constructionError: { error: unknown } | undefined;
  /** The listener on the caller's `options.signal`, made only when there is one. */
  private readonly onSignalAbort: (() => void) | undefined;

  constructor(setup: ResilientRequestSetup) {
    super();
    this.setup = setup;
    const signal = setup.signal;
    this.onSignalAbort = signal === undefined ? undefined : () => this.destroy(abortError(signal.reason));
  }

  /** Starts the call; throws what the first real request threw synchronously, as Node would. */
  static start(setup: ResilientRequestSetup, callback: ((res: IncomingMessage) => void) | undefined): ResilientClientRequest {
    const request = new ResilientClientRequest(setup);
    if (callback !== undefined) request.once('response', callback);
    request.begin();
    return request;
  }

  private begin(): void {
    const { runtime, target, method, attemptSpan } = this.setup;
    this.starting = true;
    let pending: Promise<IncomingMessage>;
    try {
      pending = runtime.execute(this.runAttempt, {
        target,
        client: 'http',
        method,
        signal: this.cancel.asAbortSignal(),
        canReplay: this.canReplay,
        hedgeable: this.hedgeable,
        failureOf: isFailedResponse,
        attemptSpan,
      });
    } finally {
      this.starting = false;
    }
    if (this.constructionError !== undefined) {
      // The caller gets the throw; the policy must not try again behind its back.
      this.settled = true;
      this.cancel.abort(this.constructionError.error);
      pending.catch(() => undefined);
      throw this.constructionError.error;
    }
    if (this.onSignalAbort !== undefined) this.setup.signal!.addEventListener('abort', this.onSignalAbort, { once: true });
    pending.then(
      (res) => process.nextTick(() => this.deliver(res)),
      (error: unknown) => process.nextTick(() => this.fail(error)),
    );
  }

  // --- one attempt ------------------------------------------------------------------

  private readonly runAttempt = (attempt: Attempt): Promise<IncomingMessage> => {
    if (attempt.attempt > 1 && !attempt.hedge) this.retireAll();
    const headers = this.headersForNextAttempt();
    injectContext(headers, headerSetter); // the attempt's span is the active context here
    const { original, thisArg, url, telemetry } = this.setup;
    const options = { ...this.setup.options, headers };
    let real: ClientRequest;
    try {
      // Suppressing tracing means nothing where no OpenTelemetry API global exists (no context manager either).
      if (!telemetry) real = url === undefined ? original.call(thisArg, options) : original.call(thisArg, url, options);
      else real = callOriginal(() => (url === undefined ? original.call(thisArg, options) : original.call(thisArg, url, options)));
    } catch (error) {
      if (this.starting && attempt.attempt === 1) this.constructionError = { error };
      throw error;
    }
    return new Promise<IncomingMessage>((resolve, reject) => this.attach(new Exchange(real), attempt, resolve, reject));
  };

  private attach(ex: Exchange, attempt: Attempt, resolve: (res: IncomingMessage) => void, reject: (error: unknown) => void): void {
    const real = ex.real;
    if (attempt.hedge) this.hedges.add(ex);
    else this.exchange = ex;
    real.on('response', (res: IncomingMessage) => {
      ex.response = res;
      if ((this.exchange !== ex && !this.hedges.has(ex)) || this.cancelled) {
        res.resume();
        return;
      }
      if (this.setup.telemetry) this.recordResponse(attempt, res);
      if (attempt.wantsRateLimit) attempt.reportRateLimit((name) => res.headers[name], res.statusCode);
      if (isFailedResponse(res) !== undefined) ex.failed = true;
      resolve(res);
    });
    real.on('error', (error: Error) => {
      ex.errored = ex.failed = true;
      if (ex.forward === Forward.All) this.emitInCaller('error', error);
      else reject(error);
    });
    real.on('close', () => {
      ex.closed = true;
      if (ex.forward !== Forward.None) this.emitClose();
      else reject(socketHangUpError()); // settles nothing when a response or an error came first
    });
    if (this.forwarded !== 0) for (const [event, bit] of FORWARDED_EVENTS) if ((this.forwarded & bit) !== 0) this.forward(ex, event, bit);
    if (this.socketTimeoutMs !== undefined) real.setTimeout(this.socketTimeoutMs);
    if (this.noDelay !== undefined) real.setNoDelay(this.noDelay);
    if (this.keepAlive !== undefined) real.setSocketKeepAlive(this.keepAlive[0], this.keepAlive[1]);
    if (this.headersCountLimit !== null) real.maxHeadersCount = this.headersCountLimit;
    this.sendBody(ex);
  }

  /** The response's attributes on the attempt span and duration point, as the official instrumentation records them. */
  private recordResponse(attempt: Attempt, res: IncomingMessage): void {
    try {
      attempt.annotate(responseSpanAttributes(res), responseMetricAttributes(res.statusCode, res.socket ? res.httpVersion : undefined));
    } catch {
      // telemetry never fails the call
    }
  }

  /** Starts passing one event of a real request on to the caller, as it would reach a ClientRequest's listeners. */
  private forward(ex: Exchange, event: string | symbol, bit: number): void {
    if ((ex.forwarding & bit) !== 0) return;
    ex.forwarding |= bit;
    const real = ex.real;
    switch (event) {
      case 'finish':
        real.on('finish', () => {
          if (this.exchange === ex && !this.finishEmitted) {
            this.finishEmitted = true;
            this.emitInCaller('finish');
          }
        });
        return;
      case 'abort':
        real.on('abort', () => {
          if (ex.forward === Forward.All) this.emitInCaller('abort');
        });
        return;
      default:
        real.on(event, (...args: unknown[]) => {
          if (this.exchange !== ex) return;
          if (args.length === 0) this.emitInCaller(event as string);
          else this.emitInCaller(event as string, args[0]);
        });
    }
  }

  /** The caller listens for `event` from now on: the request in the running forwards it too. */
  private noteListener(event: string | symbol): void {
    const bit = FORWARDED_EVENTS.get(event);
    if (bit === undefined || (this.forwarded & bit) !== 0) return;
    this.forwarded |= bit;
    const ex = this.exchange;
    if (ex === undefined || ex.closed) return;
    // A request that finished before anyone listened emits no second 'finish', as in Node.
    if (event === 'finish' && ex.real.writableFinished) this.finishEmitted = true;
    this.forward(ex, event, bit);
  }

  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    this.noteListener(event);
    return super.on(event, listener);
  }

  override addListener(event: string | symbol, listener: (...args: any[]) => void): this {
    this.noteListener(event);
    return super.addListener(event, listener);
  }

  override prependListener(event: string | symbol, listener: (...args: any[]) => void): this {
    this.noteListener(event);
    return super.prependListener(event, listener);
  }

  /** A write to this request was refused: its 'drain' tells the caller when to write again. */
  private watchDrain(ex: Exchange): void {
    if (ex.drainWatched) return;
    ex.drainWatched = true;
    ex.real.on('drain', () => {
      if (this.exchange === ex && this.needDrain) {
        this.needDrain = false;
        this.emitInCaller('drain');
      }
    });
  }

  /** Gives the new attempt's request everything written so far, and the end if it came. */
  private sendBody(ex: Exchange): void {
    const { chunks, endWith } = this.body.toSend();
    let ok = true;
    for (const chunk of chunks) ok = this.writeTo(ex, chunk);
    if (this.body.ended) {
      ex.ended = true;
      if (endWith !== undefined) ex.real.end(endWith.data, endWith.encoding as BufferEncoding);
      else ex.real.end();
    } else if (this.flushRequested) {
      ex.real.flushHeaders();
    }
    this.body.forgetIfUnreplayable();
    if (!this.needDrain) return;
    if (ok) {
      this.needDrain = false;
      process.nextTick(() => this.emitInCaller('drain'));
    } else {
      this.watchDrain(ex);
    }
  }

  private writeTo(ex: Exchange, chunk: BodyChunk): boolean {
    const callback = chunk.callback === undefined ? undefined : (error?: Error | null) => this.written(ex, chunk, error);
    return ex.real.write(chunk.data, chunk.encoding as BufferEncoding, callback);
  }

  /** A request called a chunk's write back: the caller hears of it once, from a request still in the running. */
  private written(ex: Exchange, chunk: BodyChunk, error: Error | null | undefined): void {
    if (this.exchange !== ex || ex.errored) return; // the next attempt sends the chunk again
    const callback = chunk.callback;
    chunk.callback = undefined;
    callback?.(error);
  }

  /**
   * Before a retry: the failed attempt's response is drained (its connection goes back
   * to the agent), and its request destroyed if it is still waiting (breakwater's
   * attempt timeout) or never sent its whole body. Done here rather than at the
   * timeout through the attempt's AbortSignal: creating one costs ~6 µs on Node 20,
   * and a timed-out request that is not retried is destroyed when the call fails.
   */
  private retire(ex: Exchange | undefined): void {
    if (ex === undefined) return;
    ex.forward = Forward.None;
    if (!this.finishEmitted && ex.real.writableFinished) this.finishEmitted = true; // its 'finish' counted, heard or not
    ex.response?.resume();
    if (!ex.errored && (ex.response === undefined || !ex.real.writableFinished)) {
      ex.errored = ex.failed = true;
      ex.real.destroy();
    }
  }

  /** Retires every request of the call: before a retry, or when the call ends. */
  private retireAll(except?: Exchange): void {
    if (this.exchange !== except) this.retire(this.exchange);
    for (const hedge of this.hedges) if (hedge !== except) this.retire(hedge);
    this.hedges.clear();
  }

  /** Asked when a hedge is due: a read whose whole body (none) is written, as the caller left it. */
  private readonly hedgeable = (): boolean =>
    this.body.ended && this.body.replayable && isHedgeableRequest(this.setup.method, this.body.hasData, this.setup.idempotencyMark);

  private readonly canReplay = (failure: unknown): ReplayDecision => {
    // The engine asks only about the attempt that just failed (an error, a failed
    // response, or its own timeout, of which this request hears nothing else): from
    // here a retry may need the whole body, so nothing written is forgotten.
    if (this.exchange !== undefined) this.exchange.failed = true;
    if (!this.body.replayable) return 'not_idempotent'; // a stream body is sent once
    const mark = this.setup.idempotencyMark;
    if (mark !== undefined) return mark ? true : 'not_idempotent';
    return httpReplayDecision({ method: this.setup.method, headers: this.currentHeaders(), failure });
  };

  // --- the end of the call ------------------------------------------------------------

  /** The policy is done with a response (a success, or a failed one it did not retry). */
  private deliver(res: IncomingMessage): void {
    this.settled = true;
    if (this.onSignalAbort !== undefined) this.setup.signal!.removeEventListener('abort', this.onSignalAbort);
    if (this.hedges.size > 0) this.keepOnly(res);
    const ex = this.exchange;
    if (this.cancelled || ex === undefined || ex.response !== res) {
      res.resume();
      return;
    }
    ex.forward = Forward.All;
    ex.failed = false; // the caller's request now: nothing is replayed any more
    if (this.body.replayable === false) this.body.forgetIfUnreplayable();
    this.res = res;
    if (this.setup.telemetry) bindListenersToContext(res, this.setup.callerContext); // without OpenTelemetry there is no context to lose
    if (!this.emitInCaller('response', res)) res.resume(); // nobody listens: Node dumps it too
    if (ex.closed) this.emitClose();
  }

  /** A hedged call's answer: the request that got `res` becomes the call's, every other one is retired. */
  private keepOnly(res: IncomingMessage): void {
    let winner = this.exchange;
    for (const hedge of this.hedges) if (hedge.response === res) winner = hedge;
    this.retireAll(winner);
    this.exchange = winner;
  }

  /** The policy gave up with an error (or rejected the call): the caller gets it as Node would report it. */
  private fail(error: unknown): void {
    if (this.cancelled || this.settled) return;
    this.settled = true;
    if (this.hedges.size > 0) this.retireAll(this.exchange);
    this.isDestroyed = true;
    if (this.onSignalAbort !== undefined) this.setup.signal!.removeEventListener('abort', this.onSignalAbort);
    // The last request is let go before the caller hears: an 'error' nobody listens to
    // throws, as in Node, and must not leave a timed-out request behind.
    const ex = this.exchange;
    const closed = ex === undefined || ex.closed;
    if (ex !== undefined && !closed) {
      ex.forward = Forward.Close; // its 'close' (always later than this) ends the call
      if (!ex.real.destroyed) ex.real.destroy();
    }
    this.emitInCaller('error', error);
    if (closed) this.emitClose();
  }

  private emitClose(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.isDestroyed = true;
    if (this.onSignalAbort !== undefined) this.setup.signal!.removeEventListener('abort', this.onSignalAbort);
    this.emitInCaller('close');
  }

  /**
   * Every event of this request is emitted through here: listeners run in the caller's
   * context, since code the client calls back must not inherit an attempt's suppressed
   * one. Most emits happen in it already (the engine's result arrives there); the
   * events a real request emits do not.
   */
  private emitInCaller(event: string, arg?: unknown): boolean {
    const withArg = arguments.length > 1;
    const caller = this.setup.callerContext;
    if (!this.setup.telemetry || context.active() === caller) return withArg ? this.emit(event, arg) : this.emit(event);
    return context.with(caller, () => (withArg ? this.emit(event, arg) : this.emit(event)));
  }

  // --- the Writable side ----------------------------------------------------------------

  /** The request in the running that takes writes: the latest attempt's, unless it failed with an error. */
  private liveExchange(): Exchange | undefined {
    const ex = this.exchange;
    return ex !== undefined && !ex.errored && !this.cancelled ? ex : undefined;
  }

  write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    if (this.body.ended) {
      const error = writeAfterEndError();
      process.nextTick(() => {
        callback?.(error);
        if (!this.isDestroyed) this.emitInCaller('error', error);
      });
      return false;
    }
    if (this.isDestroyed) {
      const error = destroyedError('write');
      if (callback !== undefined) process.nextTick(callback, error);
      return false;
    }
    checkChunk(chunk);
    const ex = this.liveExchange();
    const keep = ex === undefined || ex.failed;
    const entry = this.body.add(chunk, encoding, callback, keep, false);
    if (ex === undefined) {
      if (this.body.queuedBytes < QUEUE_HIGH_WATER_MARK) return true;
      this.needDrain = true;
      return false;
    }
    const ok = this.writeTo(ex, entry);
    if (!ok) {
      this.needDrain = true;
      this.watchDrain(ex);
    }
    return ok;
  }

  end(chunk?: unknown, encoding?: BufferEncoding | (() => void), callback?: () => void): this {
    if (typeof chunk === 'function') {
      callback = chunk as () => void;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    if (this.body.ended) {
      if (callback !== undefined) {
        if (!this.hasFinished()) this.once('finish', callback);
        else process.nextTick(callback, alreadyFinishedError('end'));
      }
      return this;
    }
    if (this.isDestroyed) {
      if (callback !== undefined) process.nextTick(callback, destroyedError('end'));
      return this;
    }
    const ex = this.liveExchange();
    let entry: BodyChunk | undefined;
    if (chunk) {
      checkChunk(chunk);
      entry = this.body.add(chunk, encoding as BufferEncoding | undefined, undefined, ex === undefined || ex.failed, true);
    }
    this.body.ended = true;
    if (callback !== undefined) this.once('finish', callback);
    if (ex !== undefined && !ex.ended) {
      ex.ended = true;
      if (entry !== undefined) ex.real.end(entry.data, entry.encoding as BufferEncoding);
      else ex.real.end();
    }
    return this;
  }

  flushHeaders(): void {
    this.flushRequested = true;
    this.liveExchange()?.real.flushHeaders();
  }

  cork(): void {
    this.liveExchange()?.real.cork();
  }

  uncork(): void {
    this.liveExchange()?.real.uncork();
  }

  setTimeout(msecs: number, callback?: () => void): this {
    if (callback !== undefined) this.once('timeout', callback);
    this.socketTimeoutMs = msecs;
    this.exchange?.real.setTimeout(msecs);
    return this;
  }

  setNoDelay(noDelay?: boolean): void {
    this.noDelay = noDelay ?? true;
    this.exchange?.real.setNoDelay(noDelay);
  }

  setSocketKeepAlive(enable?: boolean, initialDelay?: number): void {
    this.keepAlive = [enable, initialDelay];
    this.exchange?.real.setSocketKeepAlive(enable, initialDelay);
  }

  /** Cancels the call (no retry) and destroys the request in the running, with Node's events for it. */
  destroy(error?: Error): this {
    if (this.isDestroyed) return this;
    this.isDestroyed = true;
    const ex = this.exchange;
    if (this.settled) {
      // The caller owns the last request already: this is plain Node.
      if (ex !== undefined && ex.forward === Forward.All) ex.real.destroy(error);
      return this;
    }
    this.cancelled = true;
    if (this.onSignalAbort !== undefined) this.setup.signal!.removeEventListener('abort', this.onSignalAbort);
    if (this.hedges.size > 0) this.retireAll(ex);
    if (ex !== undefined && !ex.errored) {
      ex.forward = Forward.All;
      ex.real.destroy(error);
    } else {
      process.nextTick(() => {
        if (error !== undefined) this.emitInCaller('error', error);
        this.emitClose();
      });
    }
    this.cancel.abort(error ?? abortError(undefined));
    return this;
  }

  /** @deprecated in Node as in ClientRequest: destroy() with an 'abort' event first. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    process.nextTick(() => this.emitInCaller('abort'));
    this.destroy();
  }

  // --- headers ----------------------------------------------------------------------------

  /** Where header calls go: the latest real request (Node enforces "headers already sent"), or the store before the first. */
  private headerTarget(): OutgoingMessage {
    const ex = this.exchange;
    if (ex !== undefined) return ex.real;
    if (this.headerStore === undefined) {
      const store = new OutgoingMessage();
      const given = this.setup.options.headers;
      if (given !== undefined && given !== null && !Array.isArray(given)) {
        for (const [name, value] of Object.entries(given)) if (value !== undefined) store.setHeader(name, value as OutgoingHttpHeader);
      }
      this.headerStore = store;
    }
    return this.headerStore;
  }

  /** The next attempt's headers: what the caller set so far (Host and Authorization from `auth` included). */
  private headersForNextAttempt(): Record<string, unknown> | unknown[] {
    const given = this.setup.options.headers;
    if (Array.isArray(given)) return headersForAttempt(given);
    const source = this.exchange?.real ?? this.headerStore;
    if (source === undefined) return headersForAttempt(given);
    const snapshot: Record<string, unknown> = {};
    for (const name of (source as HeaderSource).getRawHeaderNames()) snapshot[name] = source.getHeader(name);
    return headersForAttempt(snapshot);
  }

  private currentHeaders(): unknown {
    const given = this.setup.options.headers;
    if (Array.isArray(given)) return given;
    return (this.exchange?.real ?? this.headerStore)?.getHeaders() ?? given;
  }

  setHeader(name: string, value: OutgoingHttpHeader | readonly string[]): this {
    this.headerTarget().setHeader(name, value as OutgoingHttpHeader);
    return this;
  }

  appendHeader(name: string, value: string | readonly string[]): this {
    this.headerTarget().appendHeader(name, value);
    return this;
  }

  setHeaders(headers: Headers | Map<string, number | string | readonly string[]>): this {
    (this.headerTarget() as unknown as { setHeaders(h: unknown): void }).setHeaders(headers);
    return this;
  }

  getHeader(name: string): OutgoingHttpHeader | undefined {
    return this.headerTarget().getHeader(name);
  }

  getHeaders(): OutgoingHttpHeaders {
    return this.headerTarget().getHeaders();
  }

  getHeaderNames(): string[] {
    return this.headerTarget().getHeaderNames();
  }

  getRawHeaderNames(): string[] {
    return (this.headerTarget() as HeaderSource).getRawHeaderNames();
  }

  hasHeader(name: string): boolean {
    return this.headerTarget().hasHeader(name);
  }

  removeHeader(name: string): void {
    this.headerTarget().removeHeader(name);
  }

  addTrailers(headers: OutgoingHttpHeaders | ReadonlyArray<[string, string]>): void {
    this.liveExchange()?.real.addTrailers(headers);
  }

  // --- ClientRequest's properties -------------------------------------------------------------

  /** Read by Node when the socket is assigned, so it reaches the request in the running too. */
  get maxHeadersCount(): number | null {
    return this.headersCountLimit;
  }

  set maxHeadersCount(limit: number | null) {
    this.headersCountLimit = limit;
    const ex = this.exchange;
    if (ex !== undefined) ex.real.maxHeadersCount = limit as number;
  }

  get headersSent(): boolean {
    return this.exchange?.real.headersSent ?? false;
  }

  get destroyed(): boolean {
    return this.isDestroyed || (this.settled && this.exchange?.forward === Forward.All && this.exchange.real.destroyed);
  }

  get finished(): boolean {
    return this.body.ended;
  }

  get writableEnded(): boolean {
    return this.body.ended;
  }

  get writableFinished(): boolean {
    return this.hasFinished();
  }

  /**
   * A request of this call finished sending (what 'finish' says): known from the event
   * when the caller listens for it, else read from the requests themselves.
   */
  private hasFinished(): boolean {
    if (!this.finishEmitted && (this.forwarded & FORWARDED_EVENTS.get('finish')!) === 0 && this.exchange?.real.writableFinished === true) this.finishEmitted = true;
    return this.finishEmitted;
  }

  get writable(): boolean {
    return !this.body.ended && !this.isDestroyed;
  }

  get writableNeedDrain(): boolean {
    return this.needDrain;
  }

  get writableLength(): number {
    return this.liveExchange()?.real.writableLength ?? this.body.queuedBytes;
  }

  get writableHighWaterMark(): number {
    return this.liveExchange()?.real.writableHighWaterMark ?? QUEUE_HIGH_WATER_MARK;
  }

  get writableCorked(): number {
    return this.liveExchange()?.real.writableCorked ?? 0;
  }

  get writableObjectMode(): boolean {
    return false;
  }

  get socket(): Socket | null {
    return this.exchange?.real.socket ?? null;
  }

  get connection(): Socket | null {
    return this.socket;
  }

  get reusedSocket(): boolean {
    return this.exchange?.real.reusedSocket ?? false;
  }

  get method(): string {
    return this.exchange?.real.method ?? this.setup.method;
  }

  get path(): string {
    return this.exchange?.real.path ?? (this.optionsBeforeFirstRequest().path as string | undefined) ?? '/';
  }

  get host(): string {
    const options = this.exchange === undefined ? this.optionsBeforeFirstRequest() : undefined;
    return this.exchange?.real.host ?? ((options?.hostname ?? options?.host ?? 'localhost') as string);
  }

  get protocol(): string {
    return this.exchange?.real.protocol ?? (this.optionsBeforeFirstRequest().protocol as string | undefined) ?? 'http:';
  }

  /** While no real request exists (waiting for a bulkhead slot): the options Node will build, URL included. */
  private optionsBeforeFirstRequest(): Record<string, unknown> {
    try {
      return mergedOptions(this.setup);
    } catch {
      return this.setup.options;
    }
  }

  get agent(): Agent | undefined {
    const given = this.setup.options.agent;
    return (this.exchange?.real as { agent?: Agent } | undefined)?.agent ?? (typeof given === 'object' && given !== null ? (given as Agent) : undefined);
  }
}
