import { resolve as resolvePath } from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Alias, Document } from 'yaml';
import { formatPath, formatValue } from './errors.js';
import { MAX_CONFIG_BYTES, ConfigFileRefused } from './read-file.js';
import { suggest } from './suggest.js';
import { MAX_NESTING, shapeProblem } from './yaml-shape.js';

export type Path = ReadonlyArray<string | number>;

/** Names the file, and the line of a path in it, in every message about its content. */
export interface FileContext {
  /** The path as the user gave it in BREAKWATER_CONFIG. */
  readonly name: string;
  /** `/etc/bw.yaml:7: targets[1].policy.retry`: the file, the line when known, the path. */
  where(path: Path): string;
  /** `where(path)`, then the message. */
  at(path: Path, message: string): string;
}

export interface ParsedFile {
  /** The absolute path. */
  readonly absolute: string;
  /** The content as plain data: mappings become null-prototype objects with string keys. */
  readonly root: unknown;
  readonly context: FileContext;
}

/** Deeper than this is no configuration anyone wrote by hand. */
const MAX_DEPTH = MAX_NESTING;
/** Keys in one mapping: every problem is located by a search of its mapping's keys. */
export const MAX_KEYS = 1000;

/**
 * What each of the parser's error codes means, in our words: the parser's own messages
 * quote the file (`Unresolved tag: !secret`, a code frame of the line), and the file may
 * hold secrets. A problem names the file, line and column, and what was expected.
 */
const SYNTAX_PROBLEMS: Readonly<Record<string, string>> = {
  ALIAS_PROPS: 'an alias cannot have an anchor or a tag',
  BAD_ALIAS: 'an alias (*name) that no earlier anchor (&name) defines',
  BAD_COLLECTION_TYPE: 'a collection of the wrong kind for its tag',
  BAD_DIRECTIVE: 'an unknown or malformed directive (a line starting with %)',
  BAD_DQ_ESCAPE: 'an invalid escape sequence in a double-quoted string',
  BAD_INDENT: 'wrong indentation: expected the indentation of the enclosing block',
  BAD_PROP_ORDER: 'an anchor or tag in the wrong place: expected it before the value',
  BAD_SCALAR_START: 'a value that cannot start with this character: expected it quoted',
  BLOCK_AS_IMPLICIT_KEY: 'a block collection used as a key: expected a plain key',
  BLOCK_IN_FLOW: 'block syntax inside [ ] or { }: expected flow syntax (commas)',
  DUPLICATE_KEY: 'a key given twice in one mapping',
  IMPOSSIBLE: 'text the YAML parser cannot read',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  MISSING_CHAR: 'something missing: expected a closing quote or bracket, a comma, or a value after a key',
  MULTILINE_IMPLICIT_KEY: 'a key spread over several lines, or a missing comma: expected "key: value" on one line, entries of { } separated by commas',
  MULTIPLE_ANCHORS: 'two anchors on one value: expected at most one',
  MULTIPLE_DOCS: 'more than one document (---): expected a single document',
  MULTIPLE_TAGS: 'two tags on one value: expected at most one',
  NON_STRING_KEY: 'a key that is not text',
  RESOURCE_EXHAUSTION: 'too many alias expansions',
  TAB_AS_INDENT: 'a tab used as indentation: expected spaces',
  TAG_RESOLVE_FAILED: 'an unknown tag (such as !!js/function): expected plain YAML without tags',
  UNEXPECTED_TOKEN: 'unexpected syntax: expected YAML or JSON',
};

/**
 * The parser's messages that say more than their code, recognised by their fixed start
 * (these have no part taken from the file). Only our own sentence is printed.
 */
const SPECIFIC_PROBLEMS: ReadonlyArray<readonly [string, string]> = [
  ['Flow map in block collection must be sufficiently indented and end with a }', 'an unclosed { (or one not indented past its key): expected } to end the flow mapping'],
  ['Flow sequence in block collection must be sufficiently indented and end with a ]', 'an unclosed [ (or one not indented past its key): expected ] to end the flow sequence'],
  ['Expected flow map to end with }', 'an unclosed {: expected } to end the flow mapping'],
  ['Expected flow sequence to end with ]', 'an unclosed [: expected ] to end the flow sequence'],
  ['Missing closing "quote', 'an unclosed double-quoted string: expected a closing "'],
  ["Missing closing 'quote", "an unclosed single-quoted string: expected a closing '"],
  ['Implicit map keys need to be followed by map values', 'a key without ":": expected "key: value"'],
  ['Nested mappings are not allowed in compact mappings', 'a mapping nested on one line (a: b: c): expected the inner mapping on its own lines, or in { }'],
];

function describeSyntaxError(error: { code: string; message: string }): string {
  for (const [start, problem] of SPECIFIC_PROBLEMS) if (error.message.startsWith(start)) return problem;
  return SYNTAX_PROBLEMS[error.code] ?? error.code.toLowerCase();
}

/**
 * Reads and parses the configuration file. YAML and JSON go through the same parser
 * (JSON is YAML 1.2), so both get the same messages with line numbers. Merge keys
 * (`<<: *shared`) are honoured; duplicate keys, unknown tags and several documents in
 * one file are problems, not silently resolved. No problem quotes the file's text, other
 * than the keys and values it names as breakwater settings.
 */
export function readConfigFile(given: string, readFile: (path: string) => string, problems: string[]): ParsedFile | undefined {
  const absolute = resolvePath(given);
  let text: unknown;
  try {
    text = readFile(given);
  } catch (error) {
    const problem = error instanceof ConfigFileRefused ? `${absolute} ${error.message}` : `cannot read ${absolute}: ${error instanceof Error ? error.message : String(error)}`;
    problems.push(`BREAKWATER_CONFIG=${formatValue(given)}: ${problem}`);
    return undefined;
  }
  if (typeof text !== 'string') {
    problems.push(`BREAKWATER_CONFIG=${formatValue(given)}: cannot read ${absolute}: the reader returned no text`);
    return undefined;
  }
  text = text.replace(/^\uFEFF/, '');
  const source = text as string;
  // The reader option (tests, embedders) gets the same bound as the file on disk.
  if (source.length > MAX_CONFIG_BYTES || Buffer.byteLength(source, 'utf8') > MAX_CONFIG_BYTES) {
    problems.push(`BREAKWATER_CONFIG=${formatValue(given)}: ${absolute} is too large: at most ${MAX_CONFIG_BYTES} bytes (1 MiB) are read`);
    return undefined;
  }

  const lineCounter = new LineCounter();
  const position = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${given}:${line}:${col}`;
  };
  const shape = shapeProblem(source);
  if (shape !== undefined) {
    problems.push(`${given}:${lineAndColumn(source, shape.offset)}: ${shape.problem}`);
    return undefined;
  }
  // Duplicate keys are found below, in one pass: the parser's own check is quadratic.
  const doc = parseDocument(source, { lineCounter, merge: true, uniqueKeys: false, prettyErrors: false });
  const syntax = [...doc.errors, ...doc.warnings];
  if (syntax.length > 0) {
    for (const error of syntax) problems.push(`${position(error.pos[0])}: invalid YAML: ${describeSyntaxError(error)}`);
    return undefined;
  }
  const mappingProblems = checkMappings(doc);
  if (mappingProblems.length > 0) {
    for (const { offset, problem } of mappingProblems) problems.push(`${position(offset)}: ${problem}`);
    return undefined;
  }

  const lineOf = (path: Path): number | undefined => locate(doc, lineCounter, path);
  const context: FileContext = {
    name: given,
    where(path) {
      const line = lineOf(path);
      return `${given}${line === undefined ? '' : `:${line}`}: ${formatPath(path)}`;
    },
    at(path, message) {
      return `${this.where(path)}: ${message}`;
    },
  };

  let data: unknown;
  try {
    data = doc.toJS({ mapAsMap: true, maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (error) {
    // toJS refuses alias bombs (more than maxAliasCount expansions) and an alias used
    // before its anchor by throwing; its message may quote the alias, so it is not shown.
    const bomb = error instanceof Error && /alias count/i.test(error.message);
    problems.push(
      bomb
        ? `${given}: more than ${MAX_ALIAS_EXPANSIONS} alias expansions are not accepted (an alias bomb?)`
        : `${given}: invalid YAML: an alias (*name) used before its anchor (&name): expected the anchor first`,
    );
    return undefined;
  }
  const root = toPlain(data, [], context, problems, new Set());
  return { absolute, root, context };
}

const MAX_ALIAS_EXPANSIONS = 100;

/** `line:column` (1-based) of an offset, for a problem found before the parser ran. */
function lineAndColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `${line}:${offset - lineStart + 1}`;
}

/**
 * Duplicate keys (a Set per mapping: linear, where the parser's check is quadratic) and
 * mappings with more than MAX_KEYS keys. Merge keys (`<<`) may repeat. Iterative: the
 * shape check bounds the depth, but a stack of our own costs nothing.
 */
function checkMappings(doc: Document): Array<{ offset: number; problem: string }> {
  const found: Array<{ offset: number; problem: string }> = [];
  const anchors = new Set<string>();
  const aliases: Alias[] = [];
  const pending: unknown[] = [doc.contents];
  while (pending.length > 0 && found.length < 20) {
    const node = pending.pop();
    const anchor = (node as { anchor?: unknown } | null | undefined)?.anchor;
    if (typeof anchor === 'string') anchors.add(anchor);
    if (isAlias(node)) aliases.push(node);
    else if (isMap(node)) {
      if (node.items.length > MAX_KEYS) {
        found.push({ offset: node.range?.[0] ?? 0, problem: `a mapping with ${node.items.length} keys is not accepted: expected at most ${MAX_KEYS}` });
        continue;
      }
      const seen = new Set<string>();
      for (const pair of node.items) {
        // A merge key (`<<`) reads as a Symbol, and may repeat.
        const key = isScalar(pair.key) && typeof pair.key.value !== 'symbol' ? String(pair.key.value) : undefined;
        if (key !== undefined) {
          if (seen.has(key)) found.push({ offset: pair.key && isScalar(pair.key) ? pair.key.range?.[0] ?? 0 : 0, problem: `${formatValue(key)}: a key given twice in one mapping` });
          seen.add(key);
        }
        pending.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) {
      pending.push(...node.items);
    }
  }
  for (const alias of aliases) {
    if (!anchors.has(alias.source)) found.push({ offset: alias.range?.[0] ?? 0, problem: 'invalid YAML: an alias (*name) that no anchor (&name) defines' });
  }
  return found;
}

/**
 * Maps become null-prototype objects (a `__proto__` key is then just an unknown key);
 * scalar keys are taken as text; a collection as a key, an alias that contains itself
 * or nesting past MAX_DEPTH is a problem.
 */
function toPlain(value: unknown, path: Array<string | number>, context: FileContext, problems: string[], open: Set<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (open.has(value)) {
    problems.push(context.at(path, 'refers to itself (through a YAML alias)'));
    return undefined;
  }
  if (path.length > MAX_DEPTH) {
    problems.push(context.at(path, `nested more than ${MAX_DEPTH} levels deep`));
    return undefined;
  }
  open.add(value);
  try {
    if (Array.isArray(value)) return value.map((item, i) => toPlain(item, [...path, i], context, problems, open));
    if (value instanceof Map) {
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const [key, item] of value) {
        if (typeof key === 'object' && key !== null) {
          problems.push(context.at(path, `${formatValue(key)} is not accepted as a key: expected text`));
          continue;
        }
        const name = String(key);
        out[name] = toPlain(item, [...path, name], context, problems, open);
      }
      return out;
    }
    return value; // a Date or another scalar the schema produced
  } finally {
    open.delete(value);
  }
}

/** The line (1-based) where a path is written: the key's line for a mapping entry, the item's for a list entry. */
function locate(doc: Document, lineCounter: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let line: number | undefined = lineAt(node, lineCounter);
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment));
      if (pair === undefined) return line; // e.g. a key that came in through a merge key
      line = lineAt(pair.key, lineCounter) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      node = node.items[segment];
      line = lineAt(node, lineCounter) ?? line;
    } else {
      return line;
    }
  }
  return line;
}

function lineAt(node: unknown, lineCounter: LineCounter): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range === undefined ? undefined : lineCounter.linePos(range[0]).line;
}

/** A mapping of the parsed file (see toPlain). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every key must be one the schema knows: a misspelt key would otherwise be ignored without a word. */
export function rejectUnknownKeys(
  mapping: Record<string, unknown>,
  known: readonly string[],
  path: Path,
  file: FileContext,
  problems: string[],
): void {
  for (const key of Object.keys(mapping)) {
    if (!known.includes(key)) problems.push(unknownKey(key, known, path, file));
  }
}

export function unknownKey(key: string, known: readonly string[], path: Path, file: FileContext): string {
  const near = suggest(key, known);
  const hint = near === undefined ? `expected one of ${known.join(', ')}` : `did you mean ${near}?`;
  return file.at([...path, key], `unknown key (${hint})`);
}
