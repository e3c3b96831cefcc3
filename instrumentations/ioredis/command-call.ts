import type { Attempt } from '../../src/engine/attempt.js';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { HedgeTwins } from '../kit/hedge-twins.js';
import { redisHedgeable } from '../redis/hedging.js';
import { redisReplayDecision } from '../redis/replay.js';
import { annotatingFailure, redisQueryText } from '../redis/telemetry.js';
import { operationName } from '../redis/utils.js';
import { callOriginal } from '../kit/calls.js';
import { abandon, markAttemptCommand, noteTransactionCommand, sendAttemptCommand, wasSent } from './resend-guard.js';
import { attemptSpanIfRecorded, attemptSpanOf, targetOf } from './utils.js';
import type { CommandConstructor, IoredisClient, IoredisCommand } from './types.js';

/** Replies of attempt commands are already transformed (HGETALL into an object...): the caller's command must not do it again. */
function replyAsIs(value: unknown): unknown {
  return value;
}

/** A new Command for one attempt: same name, arguments (already key-prefixed and flattened) and reply encoding. */
export function attemptCommandFrom(original: IoredisCommand, Command: CommandConstructor): IoredisCommand {
  // The caller's own class: a Lua script's Command subclass turns EVALSHA into EVAL when writing.
  const Class = typeof original.constructor === 'function' ? (original.constructor as CommandConstructor) : Command;
  const fresh = new Class(original.name, original.args.slice(), { replyEncoding: original.replyEncoding, readOnly: original.isReadOnly === true });
  markAttemptCommand(fresh);
  return fresh;
}

/** Settles the caller's Command with breakwater's outcome; its callback or promise sees exactly that. */
export function settleCaller(original: IoredisCommand, outcome: { value: unknown } | { error: unknown }): void {
  try {
    if ('error' in outcome) original.reject(outcome.error);
    else {
      original.transformReply = replyAsIs;
      original.resolve(outcome.value);
    }
  } catch {
    // another instrumentation's settle hook threw: nothing breakwater can add
  }
}

/** Abandons the attempt's command when the engine gives up on the attempt (timeout, caller abort). */
export function abandonOnAbort(attempt: Attempt, commands: readonly IoredisCommand[]): void {
  const onAbort = (reason: unknown): void => {
    for (const command of commands) abandon(command, reason);
  };
  attempt.onAbort(onAbort);
  const last = commands[commands.length - 1];
  const done = (): void => attempt.offAbort(onAbort);
  last?.promise.then(done, done);
}

export interface CommandCallDeps {
  runtime: Runtime;
  Command: CommandConstructor;
  /** ioredis's sendCommand under breakwater's layer. */
  send: (client: IoredisClient, command: IoredisCommand) => unknown;
  /** Whether another instrumentation wrapped ioredis over breakwater (its span is the CLIENT one). */
  wrappedByOthers: () => boolean;
  /** The second connections hedged reads go over. */
  twins: HedgeTwins<IoredisClient, IoredisClient>;
}

/**
 * One command as one logical call: each attempt sends a fresh Command and the caller's
 * Command is settled once, with the final reply or the final error (the error object of
 * the last attempt, as ioredis produced it). Returns the caller's promise, as
 * sendCommand does.
 */
export function runCommand(deps: CommandCallDeps, client: IoredisClient, original: IoredisCommand): Promise<unknown> {
  const name = original.name.toLowerCase();
  const operationNameAsGiven = operationName(original.name);
  const args = original.args;
  const markedIdempotent = idempotencyMark();
  const inMulti = noteTransactionCommand(client, name);
  const attempts: IoredisCommand[] = [];
  const hedgeable = redisHedgeable(deps.twins, client, name, args, inMulti, markedIdempotent);

  const operation = (attempt: Attempt): Promise<unknown> => {
    // A backup behind the stalled reply on the same connection could never be faster.
    // (The engine asks `hedgeable` right before, so the twin is ready; if not, the main connection still answers right.)
    const via = attempt.hedge ? (deps.twins.twinOf(client) ?? client) : client;
    const fresh = attemptCommandFrom(original, deps.Command);
    attempts[attempt.attempt - 1] = fresh;
    callOriginal(() => sendAttemptCommand(via, () => deps.send(via, fresh), fresh));
    // A written command is never written again (resend-guard); only one still waiting in
    // the offline queue must be dropped if the attempt ends first.
    if (wasSent(fresh) !== true) abandonOnAbort(attempt, [fresh]);
    return annotatingFailure(attempt, fresh.promise);
  };

  deps.runtime
    .execute(operation, {
      target: targetOf(client),
      client: 'ioredis',
      method: name.toUpperCase(),
      canReplay: (failure, _classification, attempt) =>
        redisReplayDecision({ command: name, args, inMulti, markedIdempotent, sent: wasSent(attempts[attempt - 1]), failure }),
      hedgeable,
      attemptSpan: attemptSpanIfRecorded(deps.runtime, deps.wrappedByOthers, (kind) =>
        attemptSpanOf(client, name.toUpperCase(), operationNameAsGiven, redisQueryText(operationNameAsGiven, args), kind),
      ),
    })
    .then(
      (value) => settleCaller(original, { value }),
      (error: unknown) => settleCaller(original, { error }),
    );
  return original.promise;
}
