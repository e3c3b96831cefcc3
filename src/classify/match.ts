import type { ErrorFacts, FailureFacts } from './facts.js';
import type { MessageRegex } from './message-regex.js';
import { replyPrefix } from './redis.js';

/**
 * The predicates user rules compile to (rules.ts validates a rule, then builds its
 * condition from these). Each reads facts (facts.ts) only as far as it needs to decide,
 * and the combinators put what is cheap first: a rule is usually ruled out by a hint or
 * by the first fact it reads, and that should be all it costs.
 */

export type ErrorTest = (error: ErrorFacts) => boolean;
export type Predicate = (failure: FailureFacts) => boolean;

/** A compiled condition, and whether it reads the hints only (which costs next to nothing). */
export interface Condition {
  readonly test: Predicate;
  readonly hintsOnly: boolean;
  /** A `client` condition's clients or a `target` condition's globs, which a rule checks before any predicate (rules.ts). */
  readonly clients?: ReadonlySet<string>;
  readonly targets?: TargetGlobs;
}

// ---------------------------------------------------------------------------
// Tests of one error.

export function codeIs(codes: ReadonlySet<string>): ErrorTest {
  return (error) => {
    const code = error.code;
    return code !== undefined && codes.has(code);
  };
}

/** `codesAndClasses` holds 5-character SQLSTATEs and 2-character classes. */
export function sqlstateIs(codesAndClasses: ReadonlySet<string>): ErrorTest {
  return (error) => {
    const sqlstate = error.sqlstate;
    return sqlstate !== undefined && (codesAndClasses.has(sqlstate) || codesAndClasses.has(sqlstate.slice(0, 2)));
  };
}

export function messageIncludes(text: string): ErrorTest {
  return (error) => {
    const message = error.message;
    return message !== undefined && message.includes(text);
  };
}

export function messageMatches(regex: MessageRegex): ErrorTest {
  return (error) => {
    const message = error.message;
    return message !== undefined && regex.test(message);
  };
}

/** The error's `name`, or else its constructor's name (read only when the name is not one). */
export function nameIs(names: ReadonlySet<string>): ErrorTest {
  return (error) => {
    const name = error.name;
    if (name !== undefined && names.has(name)) return true;
    const ctor = error.constructorName;
    return ctor !== undefined && names.has(ctor);
  };
}

/** `statuses` is true at each status named (a class like 5xx sets a hundred). */
export function statusIs(statuses: readonly boolean[]): ErrorTest {
  return (error) => {
    const status = error.status;
    return status !== undefined && statuses[status] === true;
  };
}

export function redisPrefixIs(prefixes: ReadonlySet<string>): ErrorTest {
  return (error) => {
    const message = error.message;
    if (message === undefined) return false;
    // The message's first word settles most errors (it is none of the rule's prefixes)
    // without reading the name and constructor that say whether it is a reply at all.
    const first = replyPrefix(message);
    return first !== undefined && prefixes.has(first) && error.redisPrefix === first;
  };
}

// ---------------------------------------------------------------------------
// Conditions on the whole failure.

/** Tests one error of the chain must pass together, cheapest first: the first failing one decides. */
export function someErrorPasses(tests: readonly ErrorTest[]): Condition {
  if (tests.length === 1) {
    // Most condition objects name one error key: no inner loop for them.
    const only = tests[0]!;
    const test: Predicate = (failure) => {
      const chain = failure.chain;
      for (let i = 0; i < chain.length; i++) if (only(chain[i]!)) return true;
      return false;
    };
    return { test, hintsOnly: false };
  }
  const test: Predicate = (failure) => {
    const chain = failure.chain;
    for (let i = 0; i < chain.length; i++) {
      const error = chain[i]!;
      let passes = true;
      for (let j = 0; j < tests.length && passes; j++) passes = tests[j]!(error);
      if (passes) return true;
    }
    return false;
  };
  return { test, hintsOnly: false };
}

export function clientIs(clients: ReadonlySet<string>): Condition {
  return { test: (failure) => failure.client !== undefined && clients.has(failure.client), hintsOnly: true, clients };
}

/**
 * Distinct targets remembered per `target` condition. A service calls a handful of
 * targets, each matched against the globs once; past this many (a target key built from
 * user input, say) the rest are matched on every call instead of remembered.
 */
const TARGET_CACHE_MAX = 256;

/** A `target` condition's globs, with the verdicts on the targets already seen. */
export class TargetGlobs {
  private readonly seen = new Map<string, boolean>();

  constructor(private readonly globs: readonly RegExp[]) {}

  matches(target: string | undefined): boolean {
    if (target === undefined) return false;
    let verdict = this.seen.get(target);
    if (verdict === undefined) {
      verdict = this.globs.some((glob) => glob.test(target));
      if (this.seen.size < TARGET_CACHE_MAX) this.seen.set(target, verdict);
    }
    return verdict;
  }
}

export function targetMatches(globs: readonly RegExp[]): Condition {
  const targets = new TargetGlobs(globs);
  return { test: (failure) => targets.matches(failure.target), hintsOnly: true, targets };
}

/**
 * Every part holds. Hint checks run first: a rule for another client or target is then
 * ruled out before any error of the chain is read, or the chain even walked. No test
 * throws (every read is a safe one), so the order changes what a call costs, never what
 * it returns.
 */
export function allOf(parts: readonly Condition[]): Condition {
  if (parts.length === 1) return parts[0]!;
  const tests = [...parts.filter((part) => part.hintsOnly), ...parts.filter((part) => !part.hintsOnly)].map((part) => part.test);
  const test: Predicate = (failure) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(failure)) return false;
    return true;
  };
  return { test, hintsOnly: parts.every((part) => part.hintsOnly) };
}

export function anyOf(subs: readonly Condition[]): Condition {
  const tests = subs.map((sub) => sub.test);
  const test: Predicate = (failure) => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(failure)) return true;
    return false;
  };
  return { test, hintsOnly: subs.every((sub) => sub.hintsOnly) };
}

export function not(sub: Condition): Condition {
  const inner = sub.test;
  return { test: (failure) => !inner(failure), hintsOnly: sub.hintsOnly };
}
