import { ALLOWED_FLAGS, compileMessageRegex, flagsProblem, MessageRegexError } from '../classify/message-regex.js';
import type { ClassificationRule, RuleCondition } from '../classify/rule-types.js';
import { CLIENTS, ERROR_CATEGORIES, SEVERITIES } from '../classify/types.js';
import { formatPath, formatValue } from './errors.js';
import { isMapping, rejectUnknownKeys } from './file.js';
import type { FileContext, Path } from './file.js';
import { suggest } from './suggest.js';

/**
 * Validates `classification.rules` (src/classify/rule-types.ts) and returns fresh copies:
 * nothing of the parsed file is shared with the result. A few values are put in the one
 * form the classifier compares: numeric codes as text (`code: 1234`), numeric-text
 * statuses as numbers (`"404"`), status classes in lower case (`5XX`).
 */
export function validateRules(value: unknown, path: Path, file: FileContext, problems: string[]): ClassificationRule[] {
  if (!Array.isArray(value)) {
    problems.push(file.at(path, `${formatValue(value)} is not accepted: expected a list of rules`));
    return [];
  }
  const seen = new Map<string, number>();
  const rules: ClassificationRule[] = [];
  value.forEach((item, index) => {
    const rule = validateRule(item, [...path, index], file, problems);
    if (rule === undefined) return;
    const first = seen.get(rule.id);
    if (first !== undefined) {
      problems.push(file.at([...path, index, 'id'], `${formatValue(rule.id)} is not accepted: the id is already used by ${formatPath([...path, first])}; ids must be unique`));
      return;
    }
    seen.set(rule.id, index);
    rules.push(rule);
  });
  return rules;
}

type Checked = { ok: true; value: unknown } | { ok: false; expected: string; hint?: string };
type Check = (value: unknown) => Checked;

const RULE_KEYS = ['id', 'when', 'category', 'severity', 'transient', 'userMessage'] as const;

function validateRule(item: unknown, path: Path, file: FileContext, problems: string[]): ClassificationRule | undefined {
  if (!isMapping(item)) {
    problems.push(file.at(path, `${formatValue(item)} is not accepted: expected a rule (a mapping with id, when, category)`));
    return undefined;
  }
  rejectUnknownKeys(item, RULE_KEYS, path, file, problems);
  let valid = true;
  const take = (key: (typeof RULE_KEYS)[number], check: Check, required: boolean): unknown => {
    const value = item[key];
    if (value === undefined) {
      if (required) {
        problems.push(file.at(path, `missing required key ${key}`));
        valid = false;
      }
      return undefined;
    }
    const checked = check(value);
    if (checked.ok) return checked.value;
    reject(file, problems, [...path, key], value, checked);
    valid = false;
    return undefined;
  };
  const id = take('id', ruleId, true) as string;
  const whenValue = item['when'];
  let when: RuleCondition | undefined;
  if (whenValue === undefined) {
    problems.push(file.at(path, 'missing required key when'));
    valid = false;
  } else {
    when = validateCondition(whenValue, [...path, 'when'], file, problems);
    if (when === undefined) valid = false;
  }
  const category = take('category', oneOf(ERROR_CATEGORIES), true);
  const severity = take('severity', oneOf(SEVERITIES), false);
  const transient = take('transient', boolean, false);
  const userMessage = take('userMessage', text, false);
  if (!valid) return undefined;
  const rule: ClassificationRule = { id, when: when!, category: category as ClassificationRule['category'] };
  if (severity !== undefined) rule.severity = severity as ClassificationRule['severity'];
  if (transient !== undefined) rule.transient = transient as boolean;
  if (userMessage !== undefined) rule.userMessage = userMessage as string;
  return rule;
}

const LIST_KEYS = ['name', 'code', 'status', 'sqlstate', 'redisPrefix', 'target', 'client'] as const;
const CONDITION_KEYS = ['message', 'messageRegex', 'messageRegexFlags', ...LIST_KEYS, 'all', 'any', 'not'] as const;

/** Checks for the keys whose value is one item or a list of items ("one of"). */
const ITEM_CHECKS: Record<(typeof LIST_KEYS)[number], Check> = {
  name: text,
  code: errorCode,
  status: httpStatus,
  sqlstate,
  redisPrefix,
  target: text,
  client: oneOf(CLIENTS),
};

function validateCondition(value: unknown, path: Path, file: FileContext, problems: string[]): RuleCondition | undefined {
  if (!isMapping(value)) {
    problems.push(file.at(path, `${formatValue(value)} is not accepted: expected a condition (a mapping of ${CONDITION_KEYS.join(', ')})`));
    return undefined;
  }
  const before = problems.length;
  rejectUnknownKeys(value, CONDITION_KEYS, path, file, problems);
  if (Object.keys(value).length === 0) {
    // An empty condition would match every failure and shadow all the built-in rules.
    problems.push(file.at(path, `an empty condition is not accepted: expected at least one of ${CONDITION_KEYS.join(', ')}`));
    return undefined;
  }
  const out: RuleCondition = {};

  if (value['message'] !== undefined) {
    const checked = text(value['message']);
    if (checked.ok) out.message = checked.value as string;
    else reject(file, problems, [...path, 'message'], value['message'], checked);
  }
  const flags = value['messageRegexFlags'];
  let flagsOk = true;
  if (flags !== undefined) {
    const checked = regexFlags(flags);
    flagsOk = checked.ok;
    if (!checked.ok) reject(file, problems, [...path, 'messageRegexFlags'], flags, checked);
    else if (value['messageRegex'] === undefined) problems.push(file.at([...path, 'messageRegexFlags'], 'is not accepted without messageRegex'));
    else out.messageRegexFlags = flags as string;
  }
  if (value['messageRegex'] !== undefined) {
    const checked = regex(value['messageRegex'], flagsOk && typeof flags === 'string' ? flags : '');
    if (checked.ok) out.messageRegex = checked.value as string;
    else reject(file, problems, [...path, 'messageRegex'], value['messageRegex'], checked);
  }

  for (const key of LIST_KEYS) {
    const given = value[key];
    if (given === undefined) continue;
    const items = Array.isArray(given) ? given : [given];
    if (items.length === 0) {
      problems.push(file.at([...path, key], 'an empty list is not accepted: it would never match'));
      continue;
    }
    const checkedItems = items.map((item, i) => {
      const checked = ITEM_CHECKS[key](item);
      if (!checked.ok) reject(file, problems, Array.isArray(given) ? [...path, key, i] : [...path, key], item, checked);
      return checked;
    });
    if (checkedItems.every((c) => c.ok)) {
      const values = checkedItems.map((c) => (c as { value: unknown }).value);
      (out as Record<string, unknown>)[key] = Array.isArray(given) ? values : values[0];
    }
  }

  for (const key of ['all', 'any'] as const) {
    const given = value[key];
    if (given === undefined) continue;
    if (!Array.isArray(given) || given.length === 0) {
      problems.push(file.at([...path, key], `${formatValue(given)} is not accepted: expected a non-empty list of conditions`));
      continue;
    }
    const nested = given.map((c, i) => validateCondition(c, [...path, key, i], file, problems));
    if (nested.every((c) => c !== undefined)) out[key] = nested as RuleCondition[];
  }
  if (value['not'] !== undefined) {
    const nested = validateCondition(value['not'], [...path, 'not'], file, problems);
    if (nested !== undefined) out.not = nested;
  }
  return problems.length === before ? out : undefined;
}

function reject(file: FileContext, problems: string[], path: Path, value: unknown, checked: { expected: string; hint?: string }): void {
  const hint = checked.hint === undefined ? '' : ` (${checked.hint})`;
  problems.push(file.at(path, `${formatValue(value)} is not accepted: expected ${checked.expected}${hint}`));
}

function text(value: unknown): Checked {
  return typeof value === 'string' && value !== '' ? { ok: true, value } : { ok: false, expected: 'a non-empty string' };
}

function boolean(value: unknown): Checked {
  return typeof value === 'boolean' ? { ok: true, value } : { ok: false, expected: 'true or false' };
}

function oneOf(values: readonly string[]): Check {
  return (value) => {
    if (typeof value === 'string' && values.includes(value)) return { ok: true, value };
    const near = typeof value === 'string' ? suggest(value, values) : undefined;
    return { ok: false, expected: `one of ${values.join(', ')}`, ...(near === undefined ? {} : { hint: `did you mean ${near}?` }) };
  };
}

function ruleId(value: unknown): Checked {
  const checked = text(value);
  if (!checked.ok) return checked;
  return (value as string).startsWith('builtin:')
    ? { ok: false, expected: 'an id not starting with "builtin:" (reserved for the built-in rules)' }
    : checked;
}

function errorCode(value: unknown): Checked {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { ok: true, value: String(value) };
  return typeof value === 'string' && value !== '' ? { ok: true, value } : { ok: false, expected: 'an error code (text, or an integer)' };
}

function httpStatus(value: unknown): Checked {
  const expected = 'an HTTP status from 100 to 599, or a class such as "5xx"';
  if (typeof value === 'number') return Number.isInteger(value) && value >= 100 && value <= 599 ? { ok: true, value } : { ok: false, expected };
  if (typeof value === 'string' && /^[1-5]\d\d$/.test(value)) return { ok: true, value: Number(value) };
  if (typeof value === 'string' && /^[1-5]xx$/i.test(value)) return { ok: true, value: value.toLowerCase() };
  return { ok: false, expected };
}

/**
 * SQLSTATEs are five characters (digits and upper-case letters) or a two-character class.
 * Unquoted in YAML, `23505` is read as a number (fine) but `08006` as 8006, losing its
 * leading zero: numbers are taken only when they have the length of a code or a class.
 */
function sqlstate(value: unknown): Checked {
  const expected = 'a SQLSTATE of five characters (0-9, A-Z) such as "40001", or a two-character class such as "23"';
  if (typeof value === 'number') {
    if (Number.isInteger(value) && ((value >= 10 && value <= 99) || (value >= 10000 && value <= 99999))) return { ok: true, value: String(value) };
    return { ok: false, expected, hint: 'quote SQLSTATEs: unquoted, YAML reads 08006 as the number 8006' };
  }
  return typeof value === 'string' && /^[0-9A-Z]{2}([0-9A-Z]{3})?$/.test(value) ? { ok: true, value } : { ok: false, expected };
}

function redisPrefix(value: unknown): Checked {
  return typeof value === 'string' && /^\S+$/.test(value)
    ? { ok: true, value }
    : { ok: false, expected: 'the first word of a Redis error reply, such as WRONGTYPE (no spaces)' };
}

function regexFlags(value: unknown): Checked {
  const expected = `flags from ${ALLOWED_FLAGS}, each at most once (g and y would make a match depend on the previous one)`;
  return typeof value === 'string' && flagsProblem(value) === undefined ? { ok: true, value } : { ok: false, expected };
}

/** The classifier's own compiler (linear-time, RE2 syntax): what passes here compiles there. */
function regex(value: unknown, flags: string): Checked {
  const expected = 'a regular expression the linear-time engine accepts (RE2 syntax: no backreferences, no lookaround)';
  if (typeof value !== 'string' || value === '') return { ok: false, expected };
  try {
    compileMessageRegex(value, flags);
    return { ok: true, value };
  } catch (error) {
    return { ok: false, expected, hint: error instanceof MessageRegexError ? error.reason : String(error) };
  }
}
