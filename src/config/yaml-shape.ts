import { CST, Lexer } from 'yaml';

/**
 * Bounds on the shape of the configuration text, checked on the lexer's tokens (one
 * linear pass) before the parser builds anything. The parser is not safe on hostile
 * shapes: 100,000 nested `[` overflowed its stack, a line of nested `- ` ran V8 out of
 * memory, and its duplicate-key check is quadratic (200,000 keys were still being parsed
 * after 10 minutes). A configuration written by hand is a few levels deep with a few
 * hundred keys; these limits are far above that and far below the harm.
 */

/** Levels of `[`/`{`; file.ts also refuses more than this many levels in the parsed data. */
export const MAX_NESTING = 64;
/** Keys and list items in the whole file. */
export const MAX_ENTRIES = 10_000;
/** Block nesting shows as indentation: a line indented further is no configuration. */
export const MAX_INDENT = 256;

export interface ShapeProblem {
  /** Where in the text (UTF-16 offset), for a line and column. */
  readonly offset: number;
  /** What is wrong; never any of the text. */
  readonly problem: string;
}

/**
 * YAML and JSON allow tab, line feed and carriage return among the C0 controls, and no
 * DEL; a NUL says this is no text file at all (`/proc/self/environ`, a binary).
 */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/* The lexer's zero-width markers: they are no text of the file. */
const DOCUMENT = '\u0002';
const FLOW_ERROR_END = '\u0018';
const SCALAR = '\u001F';

/** The first shape problem of `text`, or undefined. */
export function shapeProblem(text: string): ShapeProblem | undefined {
  const control = CONTROL.exec(text);
  if (control !== null) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return { offset: control.index, problem: `a control character (U+${code}) is not accepted: expected YAML or JSON text` };
  }

  let offset = 0;
  let flowDepth = 0;
  let entries = 0;
  let lineStart = true;
  let indicatorsOnLine = 0;
  let nextIsScalar = false;
  for (const token of new Lexer().lex(text)) {
    if (token === DOCUMENT || token === FLOW_ERROR_END) continue;
    if (token === SCALAR) {
      nextIsScalar = true; // its text follows, whatever it looks like (a block scalar's body looks like spaces)
      continue;
    }
    const at = offset;
    offset += token.length;
    if (nextIsScalar) {
      nextIsScalar = false;
      lineStart = false;
      continue;
    }
    switch (CST.tokenType(token)) {
      case 'newline':
        lineStart = true;
        indicatorsOnLine = 0;
        continue;
      case 'space':
        if (lineStart && flowDepth === 0 && token.length > MAX_INDENT) {
          return { offset: at, problem: `indented more than ${MAX_INDENT} columns: nested too deep for a configuration` };
        }
        continue; // indentation keeps the line at its start for the indicators that follow
      case 'flow-map-start':
      case 'flow-seq-start':
        if (++flowDepth > MAX_NESTING) return { offset: at, problem: `more than ${MAX_NESTING} levels of [ and { nested: expected at most ${MAX_NESTING}` };
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        if (flowDepth > 0) flowDepth--;
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
        // `- - - x` nests on one line without indentation.
        if (flowDepth === 0 && ++indicatorsOnLine > MAX_NESTING) {
          return { offset: at, problem: `more than ${MAX_NESTING} nested - or ? on one line: expected at most ${MAX_NESTING}` };
        }
        if (++entries > MAX_ENTRIES) return tooManyEntries(at);
        continue;
      case 'map-value-ind':
      case 'comma':
        if (++entries > MAX_ENTRIES) return tooManyEntries(at);
        break;
      default:
        break;
    }
    lineStart = false;
  }
  return undefined;
}

function tooManyEntries(offset: number): ShapeProblem {
  return { offset, problem: `more than ${MAX_ENTRIES} keys and list items: expected at most ${MAX_ENTRIES} in one configuration file` };
}
