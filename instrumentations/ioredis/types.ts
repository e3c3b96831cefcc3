/**
 * The parts of ioredis (5 and 6) the adapter reads, as structural types: ioredis's own
 * typings do not declare the internals (`commandQueue`, `condition`, Command's
 * `resolve`/`reject`), and the adapter must not need ioredis to type-check.
 */

/** A queued entry in ioredis's offline queue or command queue. */
export interface QueueItem {
  command: IoredisCommand;
}

/** ioredis's queues are denque instances. */
export interface CommandDeque {
  readonly length: number;
  peekBack(): QueueItem | undefined;
}

/** ioredis's `Command`. */
export interface IoredisCommand {
  name: string;
  args: unknown[];
  promise: Promise<unknown>;
  resolve(value: unknown): unknown;
  reject(error: unknown): void;
  transformReply(value: unknown): unknown;
  /** ioredis 6 only; ioredis 5 keeps no such flag (resend-guard keeps its own). */
  isSettled?: boolean;
  inTransaction?: boolean;
  replyEncoding?: unknown;
  isReadOnly?: boolean;
}

export type CommandConstructor = new (name: string, args?: unknown[], options?: { replyEncoding?: unknown; readOnly?: boolean }) => IoredisCommand;

/** The connection ioredis writes to (a net.Socket or tls.TLSSocket). */
export interface RedisStream {
  once(event: 'close', listener: () => void): unknown;
  readonly errored?: unknown;
  unref?(): unknown;
}

/** ioredis's `Redis` (a standalone or Sentinel connection, or one node of a Cluster). */
export interface IoredisClient {
  options: Record<string, unknown> & { host?: unknown; port?: unknown; path?: unknown; db?: unknown; sentinels?: unknown };
  status: string;
  condition?: { select?: unknown; subscriber?: unknown } | null;
  stream?: RedisStream;
  commandQueue?: CommandDeque;
  offlineQueue?: CommandDeque;
  sendCommand(command: IoredisCommand, stream?: unknown, node?: unknown): unknown;
  /** A new client with these options over the client's own (a hedge twin, ./hedge-twin.ts). */
  duplicate?(override?: Record<string, unknown>): IoredisClient;
  disconnect?(): void;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  once?(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** ioredis's `Pipeline` (also what `multi()` returns). */
export interface IoredisPipeline {
  redis: IoredisClient;
  isCluster?: boolean;
  _queue: IoredisCommand[];
  _transactions: number;
  nodeifiedPromise?: boolean;
  replyPending?: number;
  promise: Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  sendCommand(command: IoredisCommand): unknown;
  exec(callback?: unknown): Promise<unknown>;
}

export type PipelineConstructor = new (redis: IoredisClient) => IoredisPipeline;

/** A pipeline's reply: one `[error, value]` pair per command. */
export type PipelineResult = Array<[Error | null, unknown?]>;
