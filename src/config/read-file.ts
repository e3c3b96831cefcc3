import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';

/**
 * Reads the configuration file, refusing what is not one: only a regular file of at most
 * MAX_CONFIG_BYTES of UTF-8 text. `BREAKWATER_CONFIG=/dev/zero` used to hang start-up,
 * a FIFO would wait for a writer forever, and a 50 MB file took seconds and gigabytes
 * before the parser even began. Problems name the path and what is wrong, never a byte
 * of what was read: the path may be a mistake pointing at a `.env` file or
 * `/proc/self/environ`, full of secrets.
 */

/** 1 MiB: a hand-written configuration is a few kilobytes; this leaves room for generated ones. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** The file is not one breakwater reads; `message` says why, and holds none of its content. */
export class ConfigFileRefused extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = 'ConfigFileRefused';
  }
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The file's text. Throws a ConfigFileRefused for a file it will not read, or the system's error (ENOENT...). */
export function readConfigText(path: string): string {
  // O_NONBLOCK: opening a FIFO to read would otherwise block until a writer comes. It
  // changes nothing for a regular file. Opened first and checked with fstat, so what is
  // checked is what is read.
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigFileRefused(`is ${kindOf(stat)}: expected a regular file`);
    if (stat.size > MAX_CONFIG_BYTES) throw tooLarge(`${stat.size} bytes`);
    // Up to one byte past the limit, whatever the size said: /proc files say 0.
    const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length === buffer.length) throw tooLarge('more than that');
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      throw new ConfigFileRefused('is not UTF-8 text: expected a YAML or JSON file');
    }
  } finally {
    closeSync(fd);
  }
}

function tooLarge(size: string): ConfigFileRefused {
  return new ConfigFileRefused(`is too large (${size}): at most ${MAX_CONFIG_BYTES} bytes (1 MiB) are read`);
}
