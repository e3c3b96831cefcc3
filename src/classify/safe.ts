/**
 * Property reads that never throw.
 *
 * The classifier is handed whatever was thrown: errors from other libraries, plain
 * objects, Proxies whose traps throw, revoked Proxies, objects whose `message` getter
 * throws. Every read of a failure goes through these helpers, so one hostile property
 * costs that property, not the whole classification. V8 optimises functions that
 * contain try/catch, so a small helper per read is cheaper than it looks and keeps
 * the try/catch out of the walk itself.
 */

/** Objects and functions: the values that can carry properties worth reading. */
export function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** `obj[key]`, or undefined when the read throws. */
export function readProperty(obj: object, key: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/*
 * One reader per hot key: `obj[key]` with a variable key goes through one megamorphic
 * keyed-load site for every key and shape; a named load per key keeps its own cache.
 */
export function readCode(obj: object): unknown {
  try {
    return (obj as { code?: unknown }).code;
  } catch {
    return undefined;
  }
}
export function readName(obj: object): unknown {
  try {
    return (obj as { name?: unknown }).name;
  } catch {
    return undefined;
  }
}
export function readMessage(obj: object): unknown {
  try {
    return (obj as { message?: unknown }).message;
  } catch {
    return undefined;
  }
}
export function readCause(obj: object): unknown {
  try {
    return (obj as { cause?: unknown }).cause;
  } catch {
    return undefined;
  }
}
export function readStatus(obj: object): unknown {
  try {
    return (obj as { status?: unknown }).status;
  } catch {
    return undefined;
  }
}
export function readStatusCode(obj: object): unknown {
  try {
    return (obj as { statusCode?: unknown }).statusCode;
  } catch {
    return undefined;
  }
}
export function readResponse(obj: object): unknown {
  try {
    return (obj as { response?: unknown }).response;
  } catch {
    return undefined;
  }
}
export function readErrors(obj: object): unknown {
  try {
    return (obj as { errors?: unknown }).errors;
  } catch {
    return undefined;
  }
}
export function readConstructor(obj: object): unknown {
  try {
    return (obj as { constructor?: unknown }).constructor;
  } catch {
    return undefined;
  }
}
/* The hints' keys (ClassifyHints), read on every call: hints are read as safely as failures. */
export function readCallerSignal(obj: object): unknown {
  try {
    return (obj as { callerSignal?: unknown }).callerSignal;
  } catch {
    return undefined;
  }
}
export function readClient(obj: object): unknown {
  try {
    return (obj as { client?: unknown }).client;
  } catch {
    return undefined;
  }
}
export function readTarget(obj: object): unknown {
  try {
    return (obj as { target?: unknown }).target;
  } catch {
    return undefined;
  }
}

export function readString(obj: object, key: string): string | undefined {
  const value = readProperty(obj, key);
  return typeof value === 'string' ? value : undefined;
}

/** The name of `obj.constructor`, for errors that never set `name` (node-redis's do not). */
export function constructorName(obj: object): string | undefined {
  const ctor = readConstructor(obj);
  if (typeof ctor !== 'function') return undefined;
  const name = readName(ctor);
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}

/**
 * The name that says what kind of error this is: `err.name`, unless that is missing or
 * the generic `Error`/`error` (pg's DatabaseError is named `error`, node-redis's errors
 * are all named `Error`), in which case the constructor's name.
 */
export function effectiveName(obj: object, name: string | undefined): string | undefined {
  if (name !== undefined && name !== 'Error' && name !== 'error' && name.length > 0) return name;
  return constructorName(obj) ?? name;
}

/** The elements of `obj.errors` (`AggregateError`) when it is an array, at most `max`. */
export function readErrorList(obj: object, max: number): unknown[] | undefined {
  const value = readErrors(obj);
  if (!isObjectLike(value)) return undefined;
  try {
    if (!Array.isArray(value)) return undefined;
    const length = value.length;
    const n = length < max ? length : max;
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(value[i]);
    return out;
  } catch {
    return undefined;
  }
}

const TOKEN_MAX = 64;

/**
 * A value fit for the low-cardinality `code` field: a short word of letters, digits and
 * `_ . : -`. Anything else (a sentence, a URL, an object) is refused, so message-like
 * text never leaks into a metric label.
 */
export function asToken(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const n = value.length;
  if (n === 0 || n > TOKEN_MAX) return undefined;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    const ok =
      (c >= 48 && c <= 57) || // 0-9
      (c >= 65 && c <= 90) || // A-Z
      (c >= 97 && c <= 122) || // a-z
      c === 95 || c === 46 || c === 58 || c === 45; // _ . : -
    if (!ok) return undefined;
  }
  return value;
}
