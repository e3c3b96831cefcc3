import type { ErrorCategory, Severity } from './types.js';

/**
 * A condition of a user classification rule. Every key given must hold (they are ANDed);
 * `all`, `any` and `not` combine nested conditions. A list value means "one of".
 */
export interface RuleCondition {
  /** Substring of the error message (case-sensitive). */
  message?: string;
  /** Regular expression (JavaScript source) tested against the message. */
  messageRegex?: string;
  /** Flags for messageRegex, e.g. "i". */
  messageRegexFlags?: string;
  /** Error name (`err.name`) or constructor name. */
  name?: string | string[];
  /** `err.code` (string or number, compared as strings). */
  code?: string | string[];
  /** HTTP status: a number, a list, or a class like "5xx". */
  status?: number | string | Array<number | string>;
  /** PostgreSQL SQLSTATE: five characters, or a two-character class such as "23". */
  sqlstate?: string | string[];
  /** Redis reply prefix, the first word of the reply (`WRONGTYPE`, `MOVED`). */
  redisPrefix?: string | string[];
  /** Glob on the target key (`https://api.example.com:*`). */
  target?: string | string[];
  /** Client name (`http`, `fetch`, `pg`, `ioredis`, `redis`, `custom`). */
  client?: string | string[];
  all?: RuleCondition[];
  any?: RuleCondition[];
  not?: RuleCondition;
}

/** A user rule from the configuration file; runs before the built-ins, first match wins. */
export interface ClassificationRule {
  id: string;
  when: RuleCondition;
  category: ErrorCategory;
  /** Default: the category's default severity. */
  severity?: Severity;
  /** Default: the category's default transience. */
  transient?: boolean;
  /** Default: the category's default user message. */
  userMessage?: string;
}
