/**
 * node-redis 4 in legacy mode (`createClient({ legacyMode: true })`, the v3 callback API):
 * the client gets its own `sendCommand(...args, callback?)` and callback commands
 * (`client.get(key, cb)`, which call `this.sendCommand(name, ...args)`) when it is built,
 * both going straight to a private method, past every prototype breakwater wraps. They
 * are wrapped on the instance instead, once, when the application calls `connect()`
 * (node-redis 4 sends nothing before it). Each attempt goes through `client.v4.sendCommand`
 * (the private method, bound; no attempt signal, see commandsExecutorWrapper); the
 * callback, or the client's 'error' event when there is none, gets the final outcome, as
 * in legacy mode without breakwater. `client.v4.*` typed commands and `multi()` already go through the
 * wrapped prototype methods.
 */

/** Sends one command as a logical call: `attempt` once per attempt, or `unprotected` untouched. */
export type LegacyCommandRunner = (
  client: object,
  redisArgs: unknown[],
  send: { attempt(): Promise<unknown>; unprotected(): Promise<unknown> },
) => Promise<unknown>;

interface LegacyClient {
  options?: { legacyMode?: unknown };
  v4?: { sendCommand?: unknown };
  sendCommand?: unknown;
  emit?: (event: string, error: unknown) => unknown;
  [name: string]: unknown;
}

type Callback = (error: unknown, reply?: unknown) => void;
type LegacyCommand = { TRANSFORM_LEGACY_REPLY?: unknown; transformReply?: unknown };

const WRAPPED = Symbol('breakwater.redis.v4.legacy');

/** node-redis 4's own argument flattening for legacy calls (transformLegacyCommandArguments). */
function legacyArguments(args: readonly unknown[]): unknown[] {
  return args.flat().map((arg) => (typeof arg === 'number' || arg instanceof Date ? arg.toString() : arg));
}

function splitCallback(args: unknown[]): { args: unknown[]; callback: Callback | undefined } {
  const last = args[args.length - 1];
  return typeof last === 'function' ? { args: args.slice(0, -1), callback: last as Callback } : { args, callback: undefined };
}

/** Wraps a legacy-mode client's own command methods; anything else is left as it is. */
export function wrapLegacyClient(client: unknown, commands: Record<string, unknown> | undefined, run: LegacyCommandRunner): void {
  const legacy = client as LegacyClient;
  if (typeof client !== 'object' || client === null || legacy.options?.legacyMode !== true || WRAPPED in legacy) return;
  const original = legacy.sendCommand;
  const privateSend = legacy.v4?.sendCommand;
  if (typeof original !== 'function' || typeof privateSend !== 'function') return;
  Object.defineProperty(legacy, WRAPPED, { value: true });

  const sendCommand = (...callArgs: unknown[]): void => {
    const { args, callback } = splitCallback(callArgs);
    let outcome: Promise<unknown>;
    try {
      const redisArgs = legacyArguments(args);
      outcome = run(legacy, redisArgs, {
        attempt: () => (privateSend as (a: unknown[]) => Promise<unknown>).call(legacy, redisArgs),
        unprotected: () =>
          new Promise((resolve, reject) => (original as (...a: unknown[]) => void).call(legacy, ...args, (error: unknown, reply: unknown) => (error ? reject(error) : resolve(reply)))),
      });
    } catch {
      (original as (...a: unknown[]) => void).apply(legacy, callArgs); // breakwater's own failure must not become the caller's
      return;
    }
    if (callback !== undefined) outcome.then((reply) => callback(null, reply), (error: unknown) => callback(error));
    else outcome.catch((error: unknown) => legacy.emit?.('error', error));
  };
  legacy.sendCommand = sendCommand;

  // Commands whose legacy reply is transformed (HGETALL into an object) bypass
  // this.sendCommand in node-redis: route them through it, transforming the reply here.
  for (const [name, command] of Object.entries(commands ?? {})) {
    const { TRANSFORM_LEGACY_REPLY, transformReply } = (command ?? {}) as LegacyCommand;
    if (TRANSFORM_LEGACY_REPLY !== true || typeof transformReply !== 'function') continue;
    const replaced = legacy[name];
    if (typeof replaced !== 'function') continue;
    const transformed = (...callArgs: unknown[]): void => {
      const { args, callback } = splitCallback(callArgs);
      if (callback === undefined) return sendCommand(name, ...args);
      sendCommand(name, ...args, (error: unknown, reply: unknown) => (error ? callback(error) : callback(null, transformReply(reply))));
    };
    // The lower-case alias (`hgetall`) was the same function as the name it copies.
    for (const key of Object.keys(legacy)) if (legacy[key] === replaced) legacy[key] = transformed;
  }
}
