import { MAX_REPLAYABLE_BODY_BYTES } from './replay.js';

export type WriteCallback = (error?: Error | null) => void;

/** One chunk written to the request, kept for as long as another attempt may need it. */
export interface BodyChunk {
  readonly data: string | Buffer;
  readonly encoding: BufferEncoding | undefined;
  /** The caller's write callback, until a request that will carry the chunk calls it back. */
  callback: WriteCallback | undefined;
}

/** Above this many kept chunks, the ones nobody waits on are joined into one (bounds the overhead of tiny writes). */
const COMPACT_AT = 1024;

/**
 * The body of a node:http request as the caller writes it, so each attempt can send
 * it whole (design.md section 3: a body is replayed only when it is held in memory and
 * at most MAX_REPLAYABLE_BODY_BYTES).
 *
 * Every chunk is kept while the body is within the limit. Past it the body is a
 * stream, sent once: chunks are then kept only until a request that is still in the
 * running has them (`forgetIfUnreplayable`). Chunks written while no such request
 * exists (the call waits in the bulkhead queue or for a retry decided earlier) are
 * always kept, whatever their size: the next attempt needs them.
 */
export class RequestBody {
  private chunks: BodyChunk[] = [];
  private bytes = 0;
  private writes = 0;
  /** Bytes written since a request last took the chunks (the queue's backpressure). */
  queuedBytes = 0;
  ended = false;
  /** Every chunk is still held and the total is within the limit. */
  replayable = true;
  /**
   * `end(data)` with nothing written before: each attempt sends it with `end()`, so
   * Node sets Content-Length instead of chunked encoding, as it would have.
   */
  private endOnly = false;

  constructor(private readonly maxBytes: number = MAX_REPLAYABLE_BODY_BYTES) {}

  /**
   * Records a chunk. `keep` says whether it must be held even past the limit; returns
   * the chunk to send (a copy of the caller's bytes when it is held, since the caller
   * may reuse its buffer once the write is done).
   */
  add(data: string | Uint8Array, encoding: BufferEncoding | undefined, callback: WriteCallback | undefined, keep: boolean, fromEnd: boolean): BodyChunk {
    const size = typeof data === 'string' ? Buffer.byteLength(data, encoding) : data.byteLength;
    this.bytes += size;
    if (this.bytes > this.maxBytes) this.replayable = false;
    if (fromEnd && this.writes === 0) this.endOnly = true;
    this.writes++;
    if (!this.replayable && !keep) {
      this.chunks = [];
      return { data: typeof data === 'string' ? data : toBuffer(data), encoding, callback };
    }
    const chunk: BodyChunk = { data: typeof data === 'string' ? data : Buffer.from(data), encoding, callback };
    this.chunks.push(chunk);
    this.queuedBytes += size;
    if (this.chunks.length > COMPACT_AT) this.compact();
    return chunk;
  }

  /** Whether any byte of body was written (a read with a body is not hedged). */
  get hasData(): boolean {
    return this.bytes > 0;
  }

  /** The chunks a new attempt must send, in order, and whether they go with `end()` alone. */
  toSend(): { chunks: readonly BodyChunk[]; endWith: BodyChunk | undefined } {
    const endWith = this.ended && this.endOnly && this.chunks.length === 1 ? this.chunks[0] : undefined;
    return { chunks: endWith === undefined ? this.chunks : [], endWith };
  }

  /** A request still in the running has every chunk: past the limit none needs to be kept. */
  forgetIfUnreplayable(): void {
    this.queuedBytes = 0;
    if (!this.replayable) this.chunks = [];
  }

  /** Joins runs of chunks nobody waits on; keeps the order and the chunks with callbacks. */
  private compact(): void {
    const out: BodyChunk[] = [];
    let run: Buffer[] = [];
    const flush = (): void => {
      if (run.length === 1) out.push({ data: run[0]!, encoding: undefined, callback: undefined });
      else if (run.length > 1) out.push({ data: Buffer.concat(run), encoding: undefined, callback: undefined });
      run = [];
    };
    for (const chunk of this.chunks) {
      if (chunk.callback !== undefined) {
        flush();
        out.push(chunk);
      } else {
        run.push(typeof chunk.data === 'string' ? Buffer.from(chunk.data, chunk.encoding) : chunk.data);
      }
    }
    flush();
    this.chunks = out;
    // Joining changes nothing on the wire, but one end() chunk is no longer "the only write".
    if (this.writes > 1) this.endOnly = false;
  }
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
