import { isIPv4, isIPv6 } from 'node:net';

/**
 * Host names and addresses for the status endpoint: what BREAKWATER_STATUS_HOST and
 * BREAKWATER_STATUS_ALLOWED_HOSTS accept, which binds stay on the machine, and the host
 * part of an HTTP Host header.
 */

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** `::1` for `[::1]`; other text unchanged. */
function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** An IPv4 or IPv6 address, or a DNS name (RFC 1123 labels, a trailing dot allowed), in lower case; undefined for anything else. */
export function normaliseHost(text: string): string | undefined {
  const host = unbracket(text.trim().toLowerCase());
  if (isIPv4(host) || isIPv6(host)) return host;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return undefined;
  const labels = name.split('.');
  // A last label of digits only is a mistyped IPv4 address (`300.1.1.1`), no top-level domain.
  if (/^\d+$/.test(labels[labels.length - 1]!)) return undefined;
  return labels.every((label) => LABEL.test(label)) ? name : undefined;
}

export function isIpAddress(host: string): boolean {
  const bare = unbracket(host);
  return isIPv4(bare) || isIPv6(bare);
}

/** Reachable from this machine only: `localhost` (and `*.localhost`), 127.0.0.0/8, `::1`. */
export function isLoopbackHost(text: string): boolean {
  const host = normaliseHost(text);
  if (host === undefined) return false;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    return host === '::1' || (mapped !== null && mapped[1]!.startsWith('127.'));
  }
  return false;
}

/** The host of a Host header (`example.com:9465`, `[::1]:9465`), normalised; undefined when it is none. */
export function hostOfHeader(header: string): string | undefined {
  const text = header.trim();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    const rest = text.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return normaliseHost(text.slice(0, end + 1));
  }
  const colon = text.lastIndexOf(':');
  if (colon >= 0 && !/^\d{1,5}$/.test(text.slice(colon + 1))) return undefined;
  return normaliseHost(colon >= 0 ? text.slice(0, colon) : text);
}
