import type { Attempt } from '../../src/engine/attempt.js';
import type { ReplayDecision } from '../../src/engine/policy.js';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { redisReplayDecision } from '../redis/replay.js';
import { annotatingFailure, redisBatchQueryText } from '../redis/telemetry.js';
import { operationName } from '../redis/utils.js';
import { callOriginal } from '../kit/calls.js';
import { abandonOnAbort, attemptCommandFrom, settleCaller } from './command-call.js';
import { markAttemptCommand, wasSent } from './resend-guard.js';
import { attemptSpanIfRecorded, attemptSpanOf, OPERATION_MULTI, OPERATION_PIPELINE, targetOf } from './utils.js';
import type { CommandConstructor, IoredisCommand, IoredisPipeline, PipelineConstructor, PipelineResult } from './types.js';

/** Pipelines breakwater built for its own attempts: their exec goes straight to ioredis. */
const attemptPipelines = new WeakSet<IoredisPipeline>();

export function isAttemptPipeline(pipeline: IoredisPipeline): boolean {
  return attemptPipelines.has(pipeline);
}

export interface PipelineCallDeps {
  runtime: Runtime;
  Command: CommandConstructor;
  Pipeline: PipelineConstructor;
  /** ioredis's Pipeline#exec under breakwater's layer. */
  exec: (pipeline: IoredisPipeline, args: readonly unknown[]) => Promise<unknown>;
  wrappedByOthers: () => boolean;
}

/** The first error in a pipeline's replies: what makes the attempt a failure. */
function firstError(result: unknown): unknown {
  if (!Array.isArray(result)) return undefined;
  for (const entry of result as PipelineResult) {
    if (Array.isArray(entry) && entry[0] !== null && entry[0] !== undefined) return entry[0];
  }
  return undefined;
}

/** Whether a queued pipeline is a MULTI/EXEC transaction (`multi()`, or MULTI queued by hand). */
export function isTransaction(queue: readonly IoredisCommand[]): boolean {
  return queue.some((command) => command.inTransaction === true || /^(multi|exec)$/i.test(command.name));
}

/** The batch's db.query.text: its commands' masked texts joined by `; `. */
function batchQueryText(queue: readonly IoredisCommand[]): string {
  return redisBatchQueryText(queue.length, (i) => ({ name: operationName(queue[i]!.name), args: queue[i]!.args }));
}

/** Calls the pipeline's callback as ioredis does (standard-as-callback): a throwing callback throws out of band. */
function nodeify(pipeline: IoredisPipeline, callback: unknown): void {
  if (pipeline.nodeifiedPromise === true) return;
  pipeline.nodeifiedPromise = true;
  if (typeof callback !== 'function') return;
  const call = (...args: unknown[]): void => {
    try {
      (callback as (...a: unknown[]) => void)(...args);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  };
  pipeline.promise.then(
    (result) => call(null, result),
    (error: unknown) => call(error),
  );
}

/**
 * `pipeline().exec()` as one logical call. Each attempt builds a fresh Pipeline of fresh
 * Commands (same names and arguments) and execs it; the caller's pipeline is settled once,
 * command by command, with the replies of the last attempt, so its per-command callbacks,
 * its exec promise and its exec callback see exactly one result. The whole pipeline is
 * sent again only when every command in it may be (redisReplayDecision for each); one
 * that may not makes it `not_idempotent`.
 */
export function runPipeline(deps: PipelineCallDeps, pipeline: IoredisPipeline, callback: unknown): Promise<unknown> {
  nodeify(pipeline, callback);
  const queue = pipeline._queue.slice();
  if (queue.length === 0) {
    pipeline.resolve([]);
    return pipeline.promise;
  }
  const client = pipeline.redis;
  const markedIdempotent = idempotencyMark();
  const attempts: IoredisCommand[][] = [];
  // The caller's pipeline resolves when each of its commands has settled (fillResult
  // counts them down from replyPending, which its own exec would have set).
  pipeline.replyPending = queue.length;

  const operation = (attempt: Attempt): Promise<unknown> => {
    const fresh = new deps.Pipeline(client);
    attemptPipelines.add(fresh);
    const commands = queue.map((command) => attemptCommandFrom(command, deps.Command));
    for (const command of commands) fresh.sendCommand(command);
    attempts[attempt.attempt - 1] = commands;
    const replies = callOriginal(() => deps.exec(fresh, []));
    if (commands.some((command) => wasSent(command) !== true)) abandonOnAbort(attempt, commands);
    return annotatingFailure(attempt, replies, firstError);
  };

  const canReplay = (failure: unknown, _classification: unknown, attempt: number): ReplayDecision => {
    const sent = attempts[attempt - 1]?.some((command) => wasSent(command) !== false) ?? true;
    let decision: ReplayDecision = true;
    for (const command of queue) {
      const one = redisReplayDecision({ command: command.name, args: command.args, markedIdempotent, sent: sent ? undefined : false, failure });
      if (one === 'in_transaction') return one;
      if (one !== true) decision = one;
    }
    return decision;
  };

  deps.runtime
    .execute(operation, {
      target: targetOf(client),
      client: 'ioredis',
      method: OPERATION_PIPELINE,
      canReplay,
      failureOf: firstError,
      attemptSpan: attemptSpanIfRecorded(deps.runtime, deps.wrappedByOthers, (kind) => attemptSpanOf(client, OPERATION_PIPELINE, OPERATION_PIPELINE, batchQueryText(queue), kind, queue.length)),
    })
    .then(
      (result) => {
        const replies = Array.isArray(result) ? (result as PipelineResult) : [];
        queue.forEach((command, i) => {
          const reply = replies[i];
          if (reply === undefined) settleCaller(command, { error: new Error('Pipeline reply missing') });
          else if (reply[0] !== null && reply[0] !== undefined) settleCaller(command, { error: reply[0] });
          else settleCaller(command, { value: reply[1] });
        });
      },
      (error: unknown) => {
        for (const command of queue) settleCaller(command, { error });
      },
    );
  return pipeline.promise;
}

/**
 * A MULTI/EXEC pipeline as one logical call of one attempt: the caller's own pipeline is
 * sent (nothing to rebuild, it is never sent again) and a failure is never retried
 * (`in_transaction`): the transaction is the caller's.
 */
export function runTransaction(deps: PipelineCallDeps, pipeline: IoredisPipeline, args: readonly unknown[]): Promise<unknown> {
  const client = pipeline.redis;
  const operation = (attempt: Attempt): Promise<unknown> => {
    // Its commands are tracked like attempt commands: ioredis would re-send a whole
    // unanswered MULTI...EXEC after reconnecting, running the transaction twice.
    for (const command of pipeline._queue) markAttemptCommand(command);
    abandonOnAbort(attempt, pipeline._queue.slice());
    return annotatingFailure(attempt, callOriginal(() => deps.exec(pipeline, args)), firstError);
  };
  const userQueue = pipeline._queue.filter((command) => !/^(multi|exec)$/i.test(command.name));
  deps.runtime
    .execute(operation, {
      target: targetOf(client),
      client: 'ioredis',
      method: OPERATION_MULTI,
      canReplay: () => 'in_transaction',
      failureOf: firstError,
      attemptSpan: attemptSpanIfRecorded(deps.runtime, deps.wrappedByOthers, (kind) => attemptSpanOf(client, OPERATION_MULTI, OPERATION_MULTI, batchQueryText(userQueue), kind, userQueue.length)),
    })
    .then(undefined, (error: unknown) => {
      // Turned away (breaker open) before anything was sent, or the attempt timed out:
      // the caller learns it; a late reply of a sent pipeline is then ignored.
      try {
        pipeline.reject(error);
      } catch {
        // nothing to add
      }
    });
  return pipeline.promise;
}
