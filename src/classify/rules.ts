import { compileGlob } from '../util/glob.js';
import { makeResult, ResultCache } from './defaults.js';
import type { FailureFacts } from './facts.js';
import {
  allOf,
  anyOf,
  clientIs,
  codeIs,
  messageIncludes,
  messageMatches,
  nameIs,
  not,
  redisPrefixIs,
  someErrorPasses,
  sqlstateIs,
  statusIs,
  targetMatches,
  type Condition,
  type ErrorTest,
  type Predicate,
  type TargetGlobs,
} from './match.js';
import type { ClassificationRule, RuleCondition } from './rule-types.js';
import { compileMessageRegex, type MessageRegex } from './message-regex.js';
import { isObjectLike } from './safe.js';
import { ERROR_CATEGORIES, SEVERITIES, type Classification, type ErrorCategory } from './types.js';

/**
 * User classification rules: validated and compiled once by createClassifier, matched
 * before the built-ins, first match wins. Conditions compile to the predicates of
 * match.ts, which read the failure through facts.ts (each fact once, on first use).
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

export interface CompiledRule {
  readonly id: string;
  readonly category: ErrorCategory;
  /**
   * The `client` and `target` conditions of the rule's top level, checked first and
   * without a call through a predicate: a rule for another client or target then costs
   * a Set lookup, however many such rules there are.
   */
  readonly clients: ReadonlySet<string> | undefined;
  readonly targets: TargetGlobs | undefined;
  /** The rest of the condition; undefined when those hints are all it asks. */
  readonly when: Predicate | undefined;
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
// Compiling the keys of one condition object.

/** The statuses named, as a table indexed by status: a class like "5xx" sets 500 to 599. */
function compileStatus(id: string, value: unknown): boolean[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new RuleError(id, 'status must not be an empty list');
  const statuses = new Array<boolean>(600).fill(false);
  for (const item of list) {
    const text = typeof item === 'number' ? String(item) : typeof item === 'string' ? item.trim() : undefined;
    if (text !== undefined && /^[1-5][0-9][0-9]$/.test(text)) statuses[Number(text)] = true;
    else if (text !== undefined && /^[1-5]xx$/i.test(text)) {
      const first = Number(text[0]) * 100;
      statuses.fill(true, first, first + 100);
    } else throw new RuleError(id, `status must be an HTTP status (100-599) or a class like "5xx", got ${describe(item)}`);
  }
  return statuses;
}

/** The SQLSTATEs (5 characters) and classes (2) named: one set, as the two lengths never meet. */
function compileSqlstate(id: string, value: unknown): Set<string> {
  return new Set(
    stringList(id, 'sqlstate', value).map((item) => {
      const upper = item.toUpperCase();
      if (/^[0-9A-Z]{5}$/.test(upper) || /^[0-9A-Z]{2}$/.test(upper)) return upper;
      throw new RuleError(id, `sqlstate must be a 5-character SQLSTATE or a 2-character class, got ${describe(item)}`);
    }),
  );
}

function compileRegex(id: string, source: unknown, flags: unknown): MessageRegex {
  if (typeof source !== 'string') throw new RuleError(id, `messageRegex must be a string, got ${describe(source)}`);
  if (flags !== undefined && typeof flags !== 'string') throw new RuleError(id, `messageRegexFlags must be a string, got ${describe(flags)}`);
  try {
    return compileMessageRegex(source, flags);
  } catch (error) {
    throw new RuleError(id, (error as Error).message);
  }
}

/**
 * The tests of one condition object's error keys, ANDed; empty when it has none. They are
 * validated in the order of the documentation but run cheapest first, since the first
 * one that fails decides: one read and a comparison (code) before a regular expression.
 */
function compileErrorTests(id: string, c: RuleCondition): ErrorTest[] {
  let message: ErrorTest | undefined;
  if (c.message !== undefined) {
    if (typeof c.message !== 'string') throw new RuleError(id, `message must be a string, got ${describe(c.message)}`);
    message = messageIncludes(c.message);
  }
  let messageRegex: ErrorTest | undefined;
  if (c.messageRegex !== undefined) messageRegex = messageMatches(compileRegex(id, c.messageRegex, c.messageRegexFlags));
  else if (c.messageRegexFlags !== undefined) throw new RuleError(id, 'messageRegexFlags given without messageRegex');
  const name = c.name === undefined ? undefined : nameIs(new Set(stringList(id, 'name', c.name)));
  const code = c.code === undefined ? undefined : codeIs(new Set(stringList(id, 'code', c.code)));
  const status = c.status === undefined ? undefined : statusIs(compileStatus(id, c.status));
  const sqlstate = c.sqlstate === undefined ? undefined : sqlstateIs(compileSqlstate(id, c.sqlstate));
  const redisPrefix =
    c.redisPrefix === undefined ? undefined : redisPrefixIs(new Set(stringList(id, 'redisPrefix', c.redisPrefix).map((p) => p.toUpperCase())));
  const cheapestFirst = [code, sqlstate, message, name, status, messageRegex, redisPrefix];
  return cheapestFirst.filter((test): test is ErrorTest => test !== undefined);
}

/** The parts of one condition object, ANDed; an `all` adds its conditions' parts to them. */
function compileParts(id: string, c: unknown, path: string): Condition[] {
  if (!isObjectLike(c) || Array.isArray(c)) throw new RuleError(id, `${path} must be an object, got ${describe(c)}`);
  const keys = Object.keys(c);
  // An empty condition would match every failure: almost always a mistake in a config file.
  if (keys.length === 0) throw new RuleError(id, `${path} has no condition keys (known: ${[...CONDITION_KEYS].join(', ')})`);
  for (const key of keys) {
    if (!CONDITION_KEYS.has(key)) {
      throw new RuleError(id, `unknown condition key "${key}" in ${path} (known: ${[...CONDITION_KEYS].join(', ')})`);
    }
  }
  const given = c as RuleCondition;
  const parts: Condition[] = [];

  if (given.target !== undefined) parts.push(targetMatches(stringList(id, 'target', given.target).map((pattern) => compileGlob(pattern))));
  if (given.client !== undefined) parts.push(clientIs(new Set(stringList(id, 'client', given.client))));
  const errorTests = compileErrorTests(id, given);
  if (errorTests.length > 0) parts.push(someErrorPasses(errorTests));
  if (given.all !== undefined) {
    if (!Array.isArray(given.all) || given.all.length === 0) throw new RuleError(id, `${path}.all must be a non-empty list of conditions`);
    // An `all` inside an AND is more of the same AND: its parts join this one's, so that
    // its hint checks run first too (`all: [{ sqlstate: X }, { client: pg }]`).
    given.all.forEach((sub, i) => parts.push(...compileParts(id, sub, `${path}.all[${i}]`)));
  }
  if (given.any !== undefined) {
    if (!Array.isArray(given.any) || given.any.length === 0) throw new RuleError(id, `${path}.any must be a non-empty list of conditions`);
    parts.push(anyOf(given.any.map((sub, i) => compileCondition(id, sub, `${path}.any[${i}]`))));
  }
  if (given.not !== undefined) parts.push(not(compileCondition(id, given.not, `${path}.not`)));
  return parts;
}

function compileCondition(id: string, c: unknown, path: string): Condition {
  return allOf(compileParts(id, c, path));
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
  const parts = compileParts(id, r.when, 'when');
  const clientPart = parts.find((part) => part.clients !== undefined);
  const targetPart = parts.find((part) => part.targets !== undefined);
  const rest = parts.filter((part) => part !== clientPart && part !== targetPart);

  const category = r.category;
  const overrides = { severity: r.severity, transient: r.transient, userMessage: r.userMessage };
  const cache = new ResultCache(128);
  return {
    id,
    category,
    clients: clientPart?.clients,
    targets: targetPart?.targets,
    when: rest.length === 0 ? undefined : allOf(rest).test,
    resultFor: (code) => cache.lookup(code) ?? cache.remember(code, makeResult(category, code, id, overrides)),
  };
}

/** Validates and compiles the rules; throws an Error naming the rule on the first problem. */
export function compileRules(rules: readonly ClassificationRule[]): CompiledRule[] {
  if (!Array.isArray(rules)) throw new Error(`classification rules must be a list, got ${describe(rules)}`);
  const seen = new Set<string>();
  return rules.map((rule, index) => compileRule(rule, index, seen));
}

/** The first rule that matches the failure, or undefined. Never throws. */
export function firstMatchingRule(rules: readonly CompiledRule[], failure: FailureFacts): CompiledRule | undefined {
  const client = failure.client;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    try {
      if (rule.clients !== undefined && (client === undefined || !rule.clients.has(client))) continue;
      if (rule.targets !== undefined && !rule.targets.matches(failure.target)) continue;
      if (rule.when === undefined || rule.when(failure)) return rule;
    } catch {
      // A predicate met something stranger than its safe reads expect: not a match.
    }
  }
  return undefined;
}
