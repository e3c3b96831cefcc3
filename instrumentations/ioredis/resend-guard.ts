import type { IoredisClient, IoredisCommand, RedisStream } from './types.js';

/**
 * One layer of retries (design.md section 3): breakwater's, never ioredis's on top.
 *
 * Every attempt breakwater makes is a fresh ioredis Command (an "attempt command"),
 * tracked here from the moment ioredis takes it:
 * - never written (ioredis put it in its offline queue while disconnected): ioredis may
 *   send it when the connection is ready, unless the attempt was abandoned first (its
 *   timeout passed, the caller aborted): an abandoned command is settled at once and
 *   dropped when ioredis tries to send it, so a retry can never run next to it;
 * - written and unanswered when the connection closes: ioredis would keep it and write
 *   it again after reconnecting (`autoResendUnfulfilledCommands`), applying an INCR
 *   twice. Instead it fails at once with a network error (below); the engine then
 *   decides, with the command's replay rule, whether breakwater retries it. ioredis
 *   never sends a written attempt command a second time.
 * Commands breakwater does not own (passed through) keep ioredis's own behaviour.
 */

interface AttemptCommandState {
  /** What ioredis did with it: nothing yet, wrote it, queued it offline, refused it, or unknown. */
  fate: 'new' | 'written' | 'queued' | 'refused' | 'unknown';
  /** Resolved or rejected: ioredis 6 says so in `isSettled`; for ioredis 5, which does not, this flag. */
  settled: boolean;
}

// A symbol-keyed property, not a WeakMap: it is read and written on every command.
const STATE = Symbol('breakwater.attemptCommand');
type TrackedCommand = IoredisCommand & { [STATE]?: AttemptCommandState };

function stateOf(command: IoredisCommand): AttemptCommandState | undefined {
  return (command as TrackedCommand)[STATE];
}
/** Written, unanswered attempt commands per connection. */
const inFlight = new WeakMap<RedisStream, Set<IoredisCommand>>();
/** Clients in an explicit MULTI (sent without a pipeline); a closed connection ends it. */
const inExplicitMulti = new WeakSet<IoredisClient>();

export const CONNECTION_LOST_MESSAGE = 'Command aborted due to connection close';

/**
 * The error an attempt command gets when its connection closes before the reply. The
 * message and name are those of the error ioredis itself gives commands of a pipeline cut
 * the same way (redis-errors' AbortError): callers already handle it, and breakwater's
 * classifier knows it as `network`. Not "Connection is closed.": ioredis Cluster re-sends
 * a command that failed with that message to another node. The socket's own error
 * (ECONNRESET...), when there was one, is the cause. No command arguments in it.
 */
export function connectionLostError(cause: unknown): Error {
  const error = cause === undefined || cause === null ? new Error(CONNECTION_LOST_MESSAGE) : new Error(CONNECTION_LOST_MESSAGE, { cause });
  error.name = 'AbortError';
  return error;
}

export function markAttemptCommand(command: IoredisCommand): void {
  const state: AttemptCommandState = { fate: 'new', settled: false };
  (command as TrackedCommand)[STATE] = state;
  if (typeof command.isSettled === 'boolean') return;
  // ioredis 5: the command's own resolve/reject (instance functions) are the only moment
  // it settles synchronously; without this, an abandoned command in the offline queue
  // would look unsettled and be sent after the reconnect, next to its retry.
  const { resolve, reject } = command;
  command.resolve = (value: unknown) => {
    state.settled = true;
    return resolve.call(command, value);
  };
  command.reject = (error: unknown) => {
    state.settled = true;
    reject.call(command, error);
  };
}

function isSettled(command: IoredisCommand): boolean {
  return command.isSettled ?? stateOf(command)?.settled ?? false;
}

export function isAttemptCommand(command: unknown): command is IoredisCommand {
  return typeof command === 'object' && command !== null && stateOf(command as IoredisCommand) !== undefined;
}

/**
 * Whether ioredis wrote this attempt command to a connection (true: it may have run),
 * provably did not (false: still in the offline queue, or refused before writing), or
 * undefined when it cannot be told (then the failure and the command decide).
 */
export function wasSent(command: IoredisCommand | undefined): boolean | undefined {
  const fate = command === undefined ? undefined : stateOf(command)?.fate;
  if (fate === 'written') return true;
  if (fate === 'queued' || fate === 'refused') return false;
  return undefined;
}

/** Settles an abandoned attempt command so that ioredis never sends it later. */
export function abandon(command: IoredisCommand, reason: unknown): void {
  if (!isSettled(command)) settle(() => command.reject(reason));
}

/**
 * Sends an attempt command through ioredis's original `sendCommand`, or drops it when
 * sending it now would be a second layer of retries: it was abandoned or already
 * failed (settled), or ioredis is re-sending one it had written (after a reconnect, or
 * `reconnectOnError` returning 2).
 */
export function sendAttemptCommand(client: IoredisClient, send: () => unknown, command: IoredisCommand): unknown {
  const state = stateOf(command);
  if (isSettled(command)) return command.promise;
  if (state?.fate === 'written') {
    settle(() => command.reject(connectionLostError(undefined)));
    return command.promise;
  }
  const result = send();
  noteWritten(client, command, state);
  return result;
}

function noteWritten(client: IoredisClient, command: IoredisCommand, state: AttemptCommandState | undefined): void {
  if (state === undefined) return;
  // sendCommand pushes a written command to the back of commandQueue, and one it could
  // not write to the back of offlineQueue (or rejects it at once).
  try {
    state.fate = 'unknown';
    const stream = client.stream;
    if (client.commandQueue?.peekBack()?.command !== command || stream === undefined) {
      if (client.offlineQueue?.peekBack()?.command === command) state.fate = 'queued';
      else if (isSettled(command)) state.fate = 'refused';
      return;
    }
    state.fate = 'written';
    let commands = inFlight.get(stream);
    if (commands === undefined) {
      commands = new Set();
      inFlight.set(stream, commands);
      const pending = commands;
      stream.once('close', () => failInFlight(client, stream, pending));
    }
    commands.add(command);
    const forget = (): void => {
      inFlight.get(stream)?.delete(command);
    };
    command.promise.then(forget, forget);
  } catch {
    // an ioredis whose queues look different: the command keeps ioredis's behaviour
  }
}

/**
 * Runs after ioredis's own close handler (registered on the socket when it was created,
 * before any of ours): ioredis has already aborted partly answered pipelines and moved
 * the rest to the queue it re-sends after reconnecting. Whatever of ours is still
 * unanswered fails now, so the caller learns at once, and is dropped if ioredis re-sends it.
 */
function failInFlight(client: IoredisClient, stream: RedisStream, commands: Set<IoredisCommand>): void {
  inExplicitMulti.delete(client); // the server discarded the transaction with the connection
  inFlight.delete(stream);
  if (commands.size === 0) return;
  const cause = stream.errored ?? undefined;
  for (const command of [...commands]) {
    if (!isSettled(command)) settle(() => command.reject(connectionLostError(cause)));
  }
  commands.clear();
}

function settle(action: () => void): void {
  try {
    action();
  } catch {
    // a rejection hook of another instrumentation that throws must not stop the others
  }
}

/** Explicit MULTI (`multi({ pipeline: false })`, `call('multi')`): commands until EXEC/DISCARD are in the transaction. */
export function noteTransactionCommand(client: IoredisClient, name: string): boolean {
  const inMulti = inExplicitMulti.has(client);
  if (name === 'multi') inExplicitMulti.add(client);
  else if (name === 'exec' || name === 'discard') inExplicitMulti.delete(client);
  return inMulti;
}
