/**
 * RESP2, the Redis wire protocol, as much of it as fleet mode's client needs: commands
 * encoded as arrays of bulk strings, and an incremental parser for the five reply
 * types. Bulk strings are decoded as UTF-8 text (fleet mode's keys, scripts and replies
 * are text); integers beyond 2^53 lose precision (nothing of fleet mode's is that big).
 */

/** An error reply (`-NOSCRIPT No matching script…`): `code` is its first word. */
export class RespReplyError extends Error {
  override readonly name = 'RespReplyError';
  readonly code: string;
  constructor(message: string) {
    super(message);
    const space = message.indexOf(' ');
    this.code = space > 0 ? message.slice(0, space) : message;
  }
}

/** A reply: simple and bulk strings as text, integers as numbers, nil as null; an error inside an array stays a RespReplyError value. */
export type RespValue = string | number | null | RespReplyError | RespValue[];

export type RespArg = string | Buffer | number;

const CRLF = '\r\n';

/** One command as RESP (`*<n>\r\n$<len>\r\n<arg>\r\n…`) in one buffer, so it goes out in one write. */
export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}${CRLF}`)];
  for (const arg of args) {
    let bytes: Buffer;
    if (Buffer.isBuffer(arg)) bytes = arg;
    else if (typeof arg === 'string') bytes = Buffer.from(arg, 'utf8');
    else if (typeof arg === 'number' && Number.isFinite(arg)) bytes = Buffer.from(String(arg));
    else throw new TypeError(`a command argument must be a string, a Buffer or a finite number, not ${typeof arg === 'number' ? String(arg) : typeof arg}`);
    parts.push(Buffer.from(`$${bytes.length}${CRLF}`), bytes, Buffer.from(CRLF));
  }
  return Buffer.concat(parts);
}

/** The reply stream broke the protocol: the connection cannot be trusted any more. */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
}

/** Returned by a read that needs bytes not received yet. */
const INCOMPLETE = Symbol('incomplete');
type Read = { value: RespValue; next: number } | typeof INCOMPLETE;

const CR = 0x0d;

/**
 * Feeds on a byte stream and hands out whole replies in order. A reply split across
 * chunks is read again from its start once more bytes came: replies here are small,
 * so this costs less than keeping a parse stack.
 */
export class RespParser {
  private buffer: Buffer = Buffer.alloc(0);

  /** Appends a chunk and returns every reply it completes (throws RespProtocolError on garbage). */
  push(chunk: Buffer): RespValue[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const replies: RespValue[] = [];
    let offset = 0;
    for (;;) {
      const read = this.read(offset);
      if (read === INCOMPLETE) break;
      replies.push(read.value);
      offset = read.next;
    }
    this.buffer = offset >= this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
    return replies;
  }

  /** Drops buffered bytes (a new connection starts a new stream). */
  reset(): void {
    this.buffer = Buffer.alloc(0);
  }

  private line(offset: number): { text: string; next: number } | typeof INCOMPLETE {
    const end = this.buffer.indexOf(CR, offset);
    if (end < 0 || end + 1 >= this.buffer.length) return INCOMPLETE;
    return { text: this.buffer.toString('utf8', offset, end), next: end + 2 };
  }

  private read(offset: number): Read {
    if (offset >= this.buffer.length) return INCOMPLETE;
    const type = String.fromCharCode(this.buffer[offset]!);
    const header = this.line(offset + 1);
    if (header === INCOMPLETE) return INCOMPLETE;
    switch (type) {
      case '+':
        return { value: header.text, next: header.next };
      case '-':
        return { value: new RespReplyError(header.text), next: header.next };
      case ':':
        return { value: this.integer(header.text), next: header.next };
      case '$': {
        const length = this.integer(header.text);
        if (length < 0) return { value: null, next: header.next };
        const end = header.next + length;
        if (end + 2 > this.buffer.length) return INCOMPLETE;
        return { value: this.buffer.toString('utf8', header.next, end), next: end + 2 };
      }
      case '*': {
        const count = this.integer(header.text);
        if (count < 0) return { value: null, next: header.next };
        const items: RespValue[] = [];
        let next = header.next;
        for (let i = 0; i < count; i++) {
          const item = this.read(next);
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item.value);
          next = item.next;
        }
        return { value: items, next };
      }
      default:
        throw new RespProtocolError(`unexpected RESP type byte 0x${this.buffer[offset]!.toString(16)}`);
    }
  }

  private integer(text: string): number {
    if (!/^-?\d+$/.test(text)) throw new RespProtocolError(`not a RESP integer: ${JSON.stringify(text.slice(0, 32))}`);
    return Number(text);
  }
}
