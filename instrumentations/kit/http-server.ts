/** `scheme://host:port` of a TCP target key (src/target-key.ts); unix-socket and invalid keys do not match. */
const TCP_KEY = /^(https?):\/\/(\[[0-9a-f:.]+\]|[a-z0-9._-]+):(\d{1,5})$/;

export interface Server {
  scheme: 'http' | 'https';
  address: string;
  port: number;
}

/**
 * Where an HTTP request goes, read back from its target key: the key holds the host
 * already normalised and stripped of credentials, so a span can never carry more than
 * the key. Undefined for a key that names no TCP server (a unix socket, whose path may
 * name a user; an invalid URL; the shared overflow key).
 */
export function serverOfTargetKey(key: string): Server | undefined {
  const m = TCP_KEY.exec(key);
  if (m === null) return undefined;
  const host = m[2]!;
  const address = host.charCodeAt(0) === 91 ? host.slice(1, -1) : host; // server.address has no brackets
  if (address === 'invalid' || address === 'other') return undefined;
  return { scheme: m[1] as 'http' | 'https', address, port: Number(m[3]) };
}
