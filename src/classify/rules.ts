import { compileGlob } from '../util/glob.js';
import { collectChain } from './chain.js';
import { makeResult, ResultCache } from './defaults.js';
import { httpStatusOf } from './http.js';
import { sqlstateOf } from './pg.js';
import { redisPrefixOf } from './redis.js';
import type { ClassificationRule, RuleCondition } from './rule-types.js';
import { constructorName, effectiveName, isObjectLike, readProperty, readString } from './safe.js';
import { ERROR_CATEGORIES, SEVERITIES, type Classification, type ClassifyHints, type ErrorCategory } from './types.js';

/**
 * User classification rules: validated and compiled once by createClassifier, matched
 * before the built-ins, first match wins.
 *
 * How a condition matches (docs/classification.md says the same for users):
 * - The error keys (`message`, `messageRegex`, `name`, `code`, `status`, `sqlstate`,
 *   `redisPrefix`) of one condition object are tested against each error of the
 *   failure's chain (the failure, its `cause`s, `AggregateError.errors`; see chain.ts):
 *   the condition holds when ONE error satisfies all of them. So
 *   `{ name: TypeError, message: fetch failed }` is about one error, while
 *   `{ all: [{ name: TypeError }, { code: ECONNREFUSED }] }` matches fetch's wrapper
 *   around a refused connection.
 * - `target` and `client` come from the hints and hold or not for the whole failure.
 * - `all`, `any` and `not` combine nested conditions; every key of one object must hold.
 *   `not: { code: X }` means no error in the chain has code X. A condition object needs
 *   at least one key, and `all`/`any` at least one condition (the config file's rules).
 * - A list value means "any of". `code` compares as strings, `name` is the error's `name`
 *   or its constructor's name, `status` also reads `response.status`/`statusCode`,
 *   `redisPrefix` is the first word of a Redis reply error.
 */

/** What a rule's predicates look at: the errors of the failure and the adapter's hints. */
interface MatchInput {
  readonly chain: readonly ErrorFacts[];
  readonly target: string | undefined;
  readonly client: string | undefined;
}

type ErrorTest = (error: ErrorFacts) => boolean;
type Predicate = (input: MatchInput) => boolean;

export interface CompiledRule {
  readonly id: string;
  readonly category: ErrorCategory;
  readonly when: Predicate;
  /** The rule's classification for a failure whose built-in code is `code`. */
  resultFor(code: string): Classification;
}

const CONDITION_KEYS: ReadonlySet<string> = new Set([
  'message',
  'messageRegex',
  'messageRegexFlags',
  'name',
  'code',
  'status',
  'sqlstate',
  'redisPrefix',
  'target',
  'client',
  'all',
  'any',
  'not',
]);

class RuleError extends Error {
  constructor(id: string, problem: string) {
    super(`classification rule "${id}": ${problem}`);
    this.name = 'RuleError';
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value;
  }
}

/** A string or list of strings (numbers accepted, as YAML turns `code: 500` into one). */
function stringList(id: string, key: string, value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new RuleError(id, `${key} must not be an empty list`);
  return list.map((item) => {
    if (typeof item === 'string' && item.length > 0) return item;
    if (typeof item === 'number' && Number.isFinite(item)) return String(item);
    throw new RuleError(id, `${key} must be a non-empty string or a list of them, got ${describe(item)}`);
  });
}

// ---------------------------------------------------------------------------
// What one error shows a rule: read once, on first use, however many rules ask.

const UNREAD: unique symbol = Symbol('unread');

class ErrorFacts {
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

  /** The message; a thrown string is its own message. */
  get message(): string | undefined {
    if (this._message === UNREAD) {
      const e = this.error;
      this._message = typeof e === 'string' ? e : isObjectLike(e) ? readString(e, 'message') : undefined;
    }
    return this._message;
  }

  get name(): string | undefined {
    if (this._name === UNREAD) this._name = isObjectLike(this.error) ? readString(this.error, 'name') : undefined;
    return this._name;
  }

  get constructorName(): string | undefined {
    if (this._constructorName === UNREAD) this._constructorName = isObjectLike(this.error) ? constructorName(this.error) : undefined;
    return this._constructorName;
  }

  /** `code` as a string (numbers too: MySQL's 1205, gRPC's 14). */
  get code(): string | undefined {
    if (this._code === UNREAD) {
      const code = isObjectLike(this.error) ? readProperty(this.error, 'code') : undefined;
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

// ---------------------------------------------------------------------------
// Compiling the keys of one condition object.

function compileStatus(id: string, value: unknown): (status: number) => boolean {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new RuleError(id, 'status must not be an empty list');
  const exact = new Set<number>();
  const classes = new Set<number>();
  for (const item of list) {
    const text = typeof item === 'number' ? String(item) : typeof item === 'string' ? item.trim() : undefined;
    if (text !== undefined && /^[1-5][0-9][0-9]$/.test(text)) exact.add(Number(text));
    else if (text !== undefined && /^[1-5]xx$/i.test(text)) classes.add(Number(text[0]));
    else throw new RuleError(id, `status must be an HTTP status (100-599) or a class like "5xx", got ${describe(item)}`);
  }
  return (status) => exact.has(status) || classes.has(Math.floor(status / 100));
}

function compileSqlstate(id: string, value: unknown): (sqlstate: string) => boolean {
  const codes = new Set<string>();
  const classes = new Set<string>();
  for (const item of stringList(id, 'sqlstate', value)) {
    const upper = item.toUpperCase();
    if (/^[0-9A-Z]{5}$/.test(upper)) codes.add(upper);
    else if (/^[0-9A-Z]{2}$/.test(upper)) classes.add(upper);
    else throw new RuleError(id, `sqlstate must be a 5-character SQLSTATE or a 2-character class, got ${describe(item)}`);
  }
  return (sqlstate) => codes.has(sqlstate) || classes.has(sqlstate.slice(0, 2));
}

function compileRegex(id: string, source: unknown, flags: unknown): RegExp {
  if (typeof source !== 'string') throw new RuleError(id, `messageRegex must be a string, got ${describe(source)}`);
  if (flags !== undefined && typeof flags !== 'string') throw new RuleError(id, `messageRegexFlags must be a string, got ${describe(flags)}`);
  // `g` and `y` would make test() remember lastIndex: a match would depend on the previous one.
  if (flags !== undefined && /[gy]/.test(flags)) throw new RuleError(id, `messageRegexFlags "${flags}": g and y are not allowed (they make a match depend on the previous one)`);
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new RuleError(id, `invalid messageRegex /${source}/${flags ?? ''}: ${(error as Error).message}`);
  }
}

/** The tests of one condition object's error keys, ANDed; empty when it has none. */
function compileErrorTests(id: string, c: RuleCondition): ErrorTest[] {
  const tests: ErrorTest[] = [];
  if (c.message !== undefined) {
    if (typeof c.message !== 'string') throw new RuleError(id, `message must be a string, got ${describe(c.message)}`);
    const needle = c.message;
    tests.push((error) => error.message?.includes(needle) === true);
  }
  if (c.messageRegex !== undefined) {
    const regex = compileRegex(id, c.messageRegex, c.messageRegexFlags);
    tests.push((error) => {
      const message = error.message;
      return message !== undefined && regex.test(message);
    });
  } else if (c.messageRegexFlags !== undefined) {
    throw new RuleError(id, 'messageRegexFlags given without messageRegex');
  }
  if (c.name !== undefined) {
    const names = new Set(stringList(id, 'name', c.name));
    tests.push((error) => {
      const name = error.name;
      if (name !== undefined && names.has(name)) return true;
      const ctor = error.constructorName;
      return ctor !== undefined && names.has(ctor);
    });
  }
  if (c.code !== undefined) {
    const codes = new Set(stringList(id, 'code', c.code));
    tests.push((error) => {
      const code = error.code;
      return code !== undefined && codes.has(code);
    });
  }
  if (c.status !== undefined) {
    const matches = compileStatus(id, c.status);
    tests.push((error) => {
      const status = error.status;
      return status !== undefined && matches(status);
    });
  }
  if (c.sqlstate !== undefined) {
    const matches = compileSqlstate(id, c.sqlstate);
    tests.push((error) => {
      const sqlstate = error.sqlstate;
      return sqlstate !== undefined && matches(sqlstate);
    });
  }
  if (c.redisPrefix !== undefined) {
    const prefixes = new Set(stringList(id, 'redisPrefix', c.redisPrefix).map((p) => p.toUpperCase()));
    tests.push((error) => {
      const prefix = error.redisPrefix;
      return prefix !== undefined && prefixes.has(prefix);
    });
  }
  return tests;
}

/** All of the predicates (a loop, not Array#every: no closure per call). */
function every(predicates: readonly Predicate[]): Predicate {
  return (input) => {
    for (const predicate of predicates) if (!predicate(input)) return false;
    return true;
  };
}

function compileCondition(id: string, c: unknown, path: string): Predicate {
  if (!isObjectLike(c) || Array.isArray(c)) throw new RuleError(id, `${path} must be an object, got ${describe(c)}`);
  const keys = Object.keys(c);
  // An empty condition would match every failure: almost always a mistake in a config file.
  if (keys.length === 0) throw new RuleError(id, `${path} has no condition keys (known: ${[...CONDITION_KEYS].join(', ')})`);
  for (const key of keys) {
    if (!CONDITION_KEYS.has(key)) {
      throw new RuleError(id, `unknown condition key "${key}" in ${path} (known: ${[...CONDITION_KEYS].join(', ')})`);
    }
  }
  const condition = c as RuleCondition;
  const parts: Predicate[] = [];

  if (condition.target !== undefined) {
    const globs = stringList(id, 'target', condition.target).map((pattern) => compileGlob(pattern));
    parts.push((input) => {
      const target = input.target;
      if (target === undefined) return false;
      for (const glob of globs) if (glob.test(target)) return true;
      return false;
    });
  }
  if (condition.client !== undefined) {
    const clients = new Set(stringList(id, 'client', condition.client));
    parts.push((input) => input.client !== undefined && clients.has(input.client));
  }
  // After the hint keys, which cost nothing to test and often rule the rule out.
  const errorTests = compileErrorTests(id, condition);
  if (errorTests.length > 0) {
    parts.push((input) => {
      for (const error of input.chain) {
        let all = true;
        for (const test of errorTests) {
          if (!test(error)) {
            all = false;
            break;
          }
        }
        if (all) return true;
      }
      return false;
    });
  }
  if (condition.all !== undefined) {
    if (!Array.isArray(condition.all) || condition.all.length === 0) throw new RuleError(id, `${path}.all must be a non-empty list of conditions`);
    const subs = condition.all.map((sub, i) => compileCondition(id, sub, `${path}.all[${i}]`));
    parts.push(every(subs));
  }
  if (condition.any !== undefined) {
    if (!Array.isArray(condition.any) || condition.any.length === 0) throw new RuleError(id, `${path}.any must be a non-empty list of conditions`);
    const subs = condition.any.map((sub, i) => compileCondition(id, sub, `${path}.any[${i}]`));
    parts.push((input) => {
      for (const sub of subs) if (sub(input)) return true;
      return false;
    });
  }
  if (condition.not !== undefined) {
    const sub = compileCondition(id, condition.not, `${path}.not`);
    parts.push((input) => !sub(input));
  }
  if (parts.length === 1) return parts[0]!;
  return every(parts);
}

function compileRule(rule: unknown, index: number, seen: Set<string>): CompiledRule {
  if (!isObjectLike(rule)) throw new Error(`classification rule #${index + 1} must be an object, got ${describe(rule)}`);
  const r = rule as Partial<ClassificationRule>;
  if (typeof r.id !== 'string' || r.id.length === 0) throw new Error(`classification rule #${index + 1} needs a non-empty string id`);
  const id = r.id;
  if (id.startsWith('builtin:')) throw new RuleError(id, 'ids starting with "builtin:" are reserved for the built-in rules');
  if (seen.has(id)) throw new RuleError(id, 'duplicate rule id');
  seen.add(id);
  if (typeof r.category !== 'string' || !(ERROR_CATEGORIES as readonly string[]).includes(r.category)) {
    throw new RuleError(id, `category must be one of ${ERROR_CATEGORIES.join(', ')}, got ${describe(r.category)}`);
  }
  if (r.severity !== undefined && !(SEVERITIES as readonly string[]).includes(r.severity)) {
    throw new RuleError(id, `severity must be one of ${SEVERITIES.join(', ')}, got ${describe(r.severity)}`);
  }
  if (r.transient !== undefined && typeof r.transient !== 'boolean') throw new RuleError(id, `transient must be true or false, got ${describe(r.transient)}`);
  if (r.userMessage !== undefined && typeof r.userMessage !== 'string') throw new RuleError(id, `userMessage must be a string, got ${describe(r.userMessage)}`);
  if (r.when === undefined) throw new RuleError(id, 'needs a "when" condition');
  const when = compileCondition(id, r.when, 'when');

  const category = r.category;
  const overrides = { severity: r.severity, transient: r.transient, userMessage: r.userMessage };
  const cache = new ResultCache(128);
  return {
    id,
    category,
    when,
    resultFor: (code) => cache.lookup(code) ?? cache.remember(code, makeResult(category, code, id, overrides)),
  };
}

/** Validates and compiles the rules; throws an Error naming the rule on the first problem. */
export function compileRules(rules: readonly ClassificationRule[]): CompiledRule[] {
  if (!Array.isArray(rules)) throw new Error(`classification rules must be a list, got ${describe(rules)}`);
  const seen = new Set<string>();
  return rules.map((rule, index) => compileRule(rule, index, seen));
}

/** The first rule that matches `failure`, or undefined. Never throws. */
export function firstMatchingRule(rules: readonly CompiledRule[], failure: unknown, hints: ClassifyHints | undefined): CompiledRule | undefined {
  let target: string | undefined;
  let client: string | undefined;
  if (isObjectLike(hints)) {
    target = readString(hints, 'target');
    client = readString(hints, 'client');
  }
  let chain: unknown[];
  try {
    chain = collectChain(failure);
  } catch {
    chain = [failure];
  }
  const input: MatchInput = { chain: chain.map((error) => new ErrorFacts(error, client)), target, client };
  for (const rule of rules) {
    try {
      if (rule.when(input)) return rule;
    } catch {
      // A predicate met something stranger than its safe reads expect: not a match.
    }
  }
  return undefined;
}
