import { resolve as resolvePath } from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { formatPath, formatValue } from './errors.js';
import { suggest } from './suggest.js';

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

/** Deeper than this is no configuration anyone wrote by hand; stop before the stack does. */
const MAX_DEPTH = 64;

/**
 * Reads and parses the configuration file. YAML and JSON go through the same parser
 * (JSON is YAML 1.2), so both get the same messages with line numbers. Merge keys
 * (`<<: *shared`) are honoured; duplicate keys, unknown tags and several documents in
 * one file are problems, not silently resolved.
 */
export function readConfigFile(given: string, readFile: (path: string) => string, problems: string[]): ParsedFile | undefined {
  const absolute = resolvePath(given);
  let text: unknown;
  try {
    text = readFile(given);
  } catch (error) {
    problems.push(`BREAKWATER_CONFIG=${formatValue(given)}: cannot read ${absolute}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  if (typeof text !== 'string') {
    problems.push(`BREAKWATER_CONFIG=${formatValue(given)}: cannot read ${absolute}: the reader returned no text`);
    return undefined;
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter, merge: true, prettyErrors: true });
  const syntax = [...doc.errors, ...doc.warnings];
  if (syntax.length > 0) {
    for (const error of syntax) {
      const pos = error.linePos?.[0];
      const where = pos === undefined ? given : `${given}:${pos.line}:${pos.col}`;
      const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      problems.push(`${where}: ${message}`);
    }
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
    data = doc.toJS({ mapAsMap: true, maxAliasCount: 100 });
  } catch (error) {
    // toJS refuses alias bombs (more than maxAliasCount expansions) by throwing.
    problems.push(`${given}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  const root = toPlain(data, [], context, problems, new Set());
  return { absolute, root, context };
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
