import { collectChain } from './chain.js';
import { httpStatusOf } from './http.js';
import { sqlstateOf } from './pg.js';
import { redisPrefixOf } from './redis.js';
import { constructorName, effectiveName, isObjectLike, readClient, readCode, readMessage, readName, readTarget } from './safe.js';

/**
 * What one failure shows the user rules (rules.ts): the adapter's hints, read once per
 * call, and the errors of its chain (chain.ts), each with its facts.
 *
 * Everything is read on first use and remembered for the rest of the call, however many
 * rules ask: most rules are ruled out by a hint or by the first fact they look at, so
 * reading every fact of every error up front would cost more than the rules themselves.
 * The chain itself is walked only when a rule gets past the hints. Reads go through
 * safe.ts, so a hostile error or hints object costs a fact, never an exception.
 */

const UNREAD: unique symbol = Symbol('unread');

/**
 * How much of a message the rules read: its first 4 KiB (4096 UTF-16 code units). A
 * message can echo a whole request body or query; matching megabytes of it on every
 * failure would cost more than the call, and no message worth a rule says what it is
 * after that much text. slice() of a long string is a view, not a copy.
 */
export const MESSAGE_READ_MAX = 4096;

function boundedMessage(message: string | undefined): string | undefined {
  return message !== undefined && message.length > MESSAGE_READ_MAX ? message.slice(0, MESSAGE_READ_MAX) : message;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The facts of one error of the chain. */
export class ErrorFacts {
  private _message: string | undefined | typeof UNREAD = UNREAD;
  private _name: string | undefined | typeof UNREAD = UNREAD;
  private _constructorName: string | undefined | typeof UNREAD = UNREAD;
  private _code: string | undefined | typeof UNREAD = UNREAD;
  private _status: number | undefined | typeof UNREAD = UNREAD;
  private _sqlstate: string | undefined | typeof UNREAD = UNREAD;
  private _redisPrefix: string | undefined | typeof UNREAD = UNREAD;

  constructor(
    private readonly error: unknown,
    private readonly client: string | undefined,
  ) {}

  /** The message's first MESSAGE_READ_MAX characters; a thrown string is its own message. */
  get message(): string | undefined {
    if (this._message === UNREAD) {
      const e = this.error;
      this._message = boundedMessage(typeof e === 'string' ? e : isObjectLike(e) ? stringOrUndefined(readMessage(e)) : undefined);
    }
    return this._message;
  }

  get name(): string | undefined {
    if (this._name === UNREAD) this._name = isObjectLike(this.error) ? stringOrUndefined(readName(this.error)) : undefined;
    return this._name;
  }

  get constructorName(): string | undefined {
    if (this._constructorName === UNREAD) this._constructorName = isObjectLike(this.error) ? constructorName(this.error) : undefined;
    return this._constructorName;
  }

  /** `code` as a string (numbers too: MySQL's 1205, gRPC's 14). */
  get code(): string | undefined {
    if (this._code === UNREAD) {
      const code = isObjectLike(this.error) ? readCode(this.error) : undefined;
      this._code = typeof code === 'string' ? code : typeof code === 'number' && Number.isFinite(code) ? String(code) : undefined;
    }
    return this._code;
  }

  get status(): number | undefined {
    if (this._status === UNREAD) this._status = isObjectLike(this.error) ? httpStatusOf(this.error) : undefined;
    return this._status;
  }

  get sqlstate(): string | undefined {
    if (this._sqlstate === UNREAD) this._sqlstate = isObjectLike(this.error) ? sqlstateOf(this.error, this.code) : undefined;
    return this._sqlstate;
  }

  /** The Redis reply prefix, as the built-ins read it (redis.ts): it depends on the name and the client. */
  get redisPrefix(): string | undefined {
    if (this._redisPrefix === UNREAD) {
      const message = this.message;
      const error = this.error;
      this._redisPrefix =
        message === undefined || !isObjectLike(error) ? undefined : redisPrefixOf(message, effectiveName(error, this.name), this.client);
    }
    return this._redisPrefix;
  }
}

/** The failure as the rules see it: the hints, and the chain's errors on demand. */
export class FailureFacts {
  /** Read up front: the built-ins need it too (classify.ts takes it from here). */
  readonly client: string | undefined;
  private _target: string | undefined | typeof UNREAD = UNREAD;
  private _chain: readonly ErrorFacts[] | undefined = undefined;

  constructor(
    private readonly failure: unknown,
    private readonly hints: unknown,
  ) {
    this.client = isObjectLike(hints) ? stringOrUndefined(readClient(hints)) : undefined;
  }

  get target(): string | undefined {
    if (this._target === UNREAD) this._target = isObjectLike(this.hints) ? stringOrUndefined(readTarget(this.hints)) : undefined;
    return this._target;
  }

  /** The failure, its causes and aggregated errors, outermost first (see chain.ts). */
  get chain(): readonly ErrorFacts[] {
    if (this._chain === undefined) {
      let errors: unknown[];
      try {
        errors = collectChain(this.failure);
      } catch {
        errors = [this.failure];
      }
      // Sized up front: growing an array from empty costs more than filling it.
      const chain = new Array<ErrorFacts>(errors.length);
      for (let i = 0; i < errors.length; i++) chain[i] = new ErrorFacts(errors[i], this.client);
      this._chain = chain;
    }
    return this._chain;
  }
}
