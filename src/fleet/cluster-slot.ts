/**
 * Redis Cluster's key slot, as the server computes it (CLUSTER KEYSLOT): CRC16-XMODEM
 * (polynomial 0x1021, initial value 0) of the key's bytes, modulo 16384. When the key
 * holds a `{` followed later by a `}` with at least one byte between them, only the
 * bytes between the first `{` and the first `}` after it are hashed (the hash tag):
 * fleet mode's keys put `{service:target-hash}` there (keys.ts), so all of one target's
 * keys share a slot.
 */

export const SLOT_COUNT = 16384;

const TABLE = ((): Uint16Array => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** CRC16-XMODEM of `bytes[start, end)`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/** The slot of a key (a string is hashed as its UTF-8 bytes, as the server receives it). */
export function keySlot(key: string | Uint8Array): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const open = bytes.indexOf(OPEN);
  if (open >= 0) {
    const close = bytes.indexOf(CLOSE, open + 1);
    if (close > open + 1) return crc16(bytes, open + 1, close) % SLOT_COUNT;
  }
  return crc16(bytes) % SLOT_COUNT;
}
