import type { ClassificationRule } from '../classify/rule-types.js';
import { formatValue } from './errors.js';
import { FIELDS, SECTION_OFF, checkValue, describeField, shownValue } from './fields.js';
import type { Field } from './fields.js';
import { isMapping, rejectUnknownKeys, unknownKey } from './file.js';
import type { FileContext, ParsedFile, Path } from './file.js';
import { Layer, RANK } from './merge.js';
import type { Rank, TargetLayer } from './merge.js';
import { validateRules } from './rules.js';

export interface FileSettings {
  /** Top-level fields: enabled, instrumentations, maxTargets. */
  readonly top: Layer;
  readonly defaults: Layer;
  readonly targets: TargetLayer[];
  readonly rules: ClassificationRule[];
}

/** The fields of one scope written directly (`timeoutMs`), and those inside a section (`retry.maxAttempts`), by section. */
interface ScopeKeys {
  readonly direct: ReadonlyMap<string, Field>;
  readonly sections: ReadonlyMap<string, ReadonlyMap<string, Field>>;
}

function keysOf(scope: Field['scope']): ScopeKeys {
  const direct = new Map<string, Field>();
  const sections = new Map<string, Map<string, Field>>();
  for (const field of FIELDS) {
    if (field.scope !== scope) continue;
    if (!field.key.includes('.')) {
      direct.set(field.key, field);
      continue;
    }
    const [section, name] = field.key.split('.') as [string, string];
    if (!sections.has(section)) sections.set(section, new Map());
    sections.get(section)!.set(name, field);
  }
  return { direct, sections };
}

const TOP = keysOf('top');
const TOP_KEYS = [...TOP.direct.keys(), ...TOP.sections.keys(), 'defaults', 'targets', 'classification'];
const POLICY = keysOf('policy');
const POLICY_KEYS = [...POLICY.direct.keys(), ...POLICY.sections.keys()];

/**
 * Checks the parsed file against the schema (every key known, every value within the
 * bounds of its field in FIELDS) and sorts its values into layers for the merge.
 * Problems are collected, never thrown, so one run reports them all; mappings are
 * walked in the file's order, so the problems come out in it too.
 */
export function validateFile(parsed: ParsedFile, problems: string[]): FileSettings {
  const settings: FileSettings = { top: new Layer(), defaults: new Layer(), targets: [], rules: [] };
  const { root, context: file } = parsed;
  if (root === null || root === undefined) return settings; // an empty file (or only comments) sets nothing
  if (!isMapping(root)) {
    // Not quoted: a file that is no configuration at all (a .env file is one long YAML
    // string) may be full of secrets.
    problems.push(file.at([], `${kindOf(root)} is not accepted: expected a mapping with any of ${TOP_KEYS.join(', ')} (the file is read as YAML or JSON)`));
    return settings;
  }
  for (const [key, value] of Object.entries(root)) {
    const field = TOP.direct.get(key);
    const section = TOP.sections.get(key);
    if (field !== undefined) setField(settings.top, field, value, [key], RANK.fileDefaults, file, problems);
    else if (section !== undefined) readSection(key, section, value, [key], settings.top, RANK.fileDefaults, file, problems);
    else if (key === 'defaults') readPolicy(value, [key], settings.defaults, RANK.fileDefaults, file, problems);
    else if (key === 'targets') settings.targets.push(...readTargets(value, file, problems));
    else if (key === 'classification') settings.rules.push(...readClassification(value, file, problems));
    else if (key.startsWith('x-')) continue; // a place to define YAML anchors (`x-shared: &shared {...}`), as in Compose files
    else problems.push(unknownKey(key, TOP_KEYS, [], file));
  }
  return settings;
}

function readTargets(value: unknown, file: FileContext, problems: string[]): TargetLayer[] {
  if (!Array.isArray(value)) {
    problems.push(file.at(['targets'], `${formatValue(value)} is not accepted: expected a list of { match, policy }`));
    return [];
  }
  const targets: TargetLayer[] = [];
  const firstIndex = new Map<string, number>();
  value.forEach((item, index) => {
    const path = ['targets', index];
    if (!isMapping(item)) {
      problems.push(file.at(path, `${formatValue(item)} is not accepted: expected a mapping with match and policy`));
      return;
    }
    rejectUnknownKeys(item, ['match', 'policy'], path, file, problems);
    const match = item['match'];
    if (match === undefined) problems.push(file.at(path, 'missing required key match (a glob on the target key)'));
    else if (typeof match !== 'string' || match.trim() === '') {
      problems.push(file.at([...path, 'match'], `${formatValue(match)} is not accepted: expected a glob on the target key, such as "https://api.example.com:*"`));
    } else if (firstIndex.has(match.toLowerCase())) {
      // First match wins (globs ignore case), so a repeated pattern could never apply: almost surely a slip.
      problems.push(file.at([...path, 'match'], `${formatValue(match)} is not accepted: targets[${firstIndex.get(match.toLowerCase())}] has the same pattern, so this entry would never apply`));
    } else {
      firstIndex.set(match.toLowerCase(), index);
    }
    const layer = new Layer();
    if (item['policy'] === undefined) problems.push(file.at(path, 'missing required key policy'));
    else readPolicy(item['policy'], [...path, 'policy'], layer, RANK.fileTarget, file, problems);
    if (typeof match === 'string') targets.push({ match, label: `targets[${index}] (match ${JSON.stringify(match)})`, matchFrom: file.where([...path, 'match']), layer });
  });
  return targets;
}

function readClassification(value: unknown, file: FileContext, problems: string[]): ClassificationRule[] {
  if (!isMapping(value)) {
    problems.push(file.at(['classification'], `${formatValue(value)} is not accepted: expected a mapping with rules`));
    return [];
  }
  rejectUnknownKeys(value, ['rules'], ['classification'], file, problems);
  return value['rules'] === undefined ? [] : validateRules(value['rules'], ['classification', 'rules'], file, problems);
}

/**
 * A policy: the direct fields, and the sections (retry, breaker, bulkhead,
 * concurrencyLimit, rateLimit, hedge), each a mapping of its fields or `false`
 * (shorthand for the values SECTION_OFF gives).
 */
function readPolicy(value: unknown, path: Path, layer: Layer, rank: Rank, file: FileContext, problems: string[]): void {
  if (!isMapping(value)) {
    problems.push(file.at(path, `${formatValue(value)} is not accepted: expected a mapping with any of ${POLICY_KEYS.join(', ')}`));
    return;
  }
  for (const [key, keyValue] of Object.entries(value)) {
    const direct = POLICY.direct.get(key);
    const fields = POLICY.sections.get(key);
    if (direct !== undefined) setField(layer, direct, keyValue, [...path, key], rank, file, problems);
    else if (fields !== undefined) readSection(key, fields, keyValue, [...path, key], layer, rank, file, problems);
    else problems.push(unknownKey(key, POLICY_KEYS, path, file));
  }
}

function readSection(
  section: string,
  fields: ReadonlyMap<string, Field>,
  value: unknown,
  path: Path,
  layer: Layer,
  rank: Rank,
  file: FileContext,
  problems: string[],
): void {
  const off = SECTION_OFF[section];
  if (value === false && off !== undefined) {
    const where = file.where(path);
    for (const [key, offValue] of off) layer.values.set(key, { value: offValue, rank, from: where, blame: `${where}: false` });
    return;
  }
  const names = [...fields.keys()];
  if (!isMapping(value)) {
    const expected = `a mapping with any of ${names.join(', ')}${off === undefined ? '' : ', or false'}`;
    // A section holding a secret is not quoted whole either (`fleet: "redis://:pw@host"`).
    const shown = [...fields.values()].some((f) => f.secret === true) ? kindOf(value) : formatValue(value);
    problems.push(file.at(path, `${shown} is not accepted: expected ${expected}`));
    return;
  }
  for (const [key, fieldValue] of Object.entries(value)) {
    const field = fields.get(key);
    if (field !== undefined) setField(layer, field, fieldValue, [...path, key], rank, file, problems);
    else problems.push(unknownKey(key, names, path, file));
  }
}

function setField(layer: Layer, field: Field, value: unknown, path: Path, rank: Rank, file: FileContext, problems: string[]): void {
  const where = file.where(path);
  const checked = checkValue(field, value);
  const shown = shownValue(field, value);
  if (checked.ok) {
    layer.values.set(field.key, { value: checked.value, rank, from: where, blame: field.secret === true ? where : `${where}: ${shown}` });
    return;
  }
  layer.invalid.add(field.key);
  const hint = checked.hint === undefined ? '' : ` (${checked.hint})`;
  problems.push(`${where}: ${shown} is not accepted: expected ${describeField(field, 'file')}${hint}`);
}

/** What a top-level value is, without its content. */
function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return 'a text value';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return 'a value of another kind';
}
