/**
 * A numeric option of fleet mode's classes: `fallback` when unset, else the value if it
 * is a finite number of at least `min`. Throws RangeError naming the option otherwise:
 * options are configuration, checked once when the object is made.
 */
export function numberOption(value: number | undefined, fallback: number, name: string, min: number): number {
  const n = value ?? fallback;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min) throw new RangeError(`${name} must be a number of at least ${min}`);
  return n;
}
