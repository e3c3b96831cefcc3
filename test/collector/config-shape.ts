/**
 * The vocabulary for describing what a Collector component's configuration may contain,
 * mirroring the Go structs it is decoded into (mapstructure tags; `,squash` fields are
 * written flat into their parent).
 */

/** A value that is not checked further: a scalar, or a structure we do not model. */
export const ANY = 'any' as const;

export type Shape = typeof ANY | KeysOf | ListOf | Tagged;

/** A map whose keys must be among `keys`. */
export class KeysOf {
  constructor(
    readonly keys: Readonly<Record<string, Shape>>,
    /** Also accepts a plain value in place of the map (the transform processor's flat statements). */
    readonly orScalar = false,
  ) {}
}

/** A list whose every item has the shape `item`. */
export class ListOf {
  constructor(readonly item: Shape) {}
}

/**
 * A map whose `tag` key selects a variant, and whose only other keys are `common` ones and
 * the block named like the variant (tail_sampling policies: `type: status_code` reads the
 * `status_code:` block and silently ignores any other policy's block). A variant without a
 * block of its own (always_sample) is null.
 */
export class Tagged {
  constructor(
    readonly tag: string,
    readonly common: Readonly<Record<string, Shape>>,
    readonly variants: Readonly<Record<string, Shape | null>>,
  ) {}
}

export const keys = (shape: Record<string, Shape>): KeysOf => new KeysOf(shape);
export const listOf = (item: Shape): ListOf => new ListOf(item);

/** Every key of `shape` with the value ANY: for structs whose fields are all scalars. */
export const scalars = (...names: string[]): Record<string, Shape> => Object.fromEntries(names.map((name) => [name, ANY]));
