/** The files of the Grafana/Prometheus stack (collector/, examples/stack/), read as YAML. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The repository root (compiled to build/test/collector/, three levels below it). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const COMPOSE_PATH = 'examples/stack/compose.yaml';

/** A repository file parsed as YAML; a key defined twice is an error (yaml's default). */
export function readStackYaml(path: string): unknown {
  return parse(readFileSync(join(REPO, path), 'utf8'));
}

export interface ComposeService {
  image?: string;
  command?: string[];
  working_dir?: string;
  volumes?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: string[];
}

export function readCompose(): { services: Record<string, ComposeService> } {
  return readStackYaml(COMPOSE_PATH) as { services: Record<string, ComposeService> };
}

/** `host:container[:mode]` of a short-syntax volume; undefined for a named volume. */
export function bindMount(volume: string): { host: string; container: string } | undefined {
  const [host, container] = volume.split(':');
  if (host === undefined || container === undefined || !/^[./]/.test(host)) return undefined;
  return { host, container };
}

/** The port of an `${env:NAME:-host:port}` or `host:port` endpoint. */
export function endpointPort(endpoint: string): number {
  const match = /:(\d+)\}?$/.exec(endpoint);
  if (match?.[1] === undefined) throw new Error(`no port in ${endpoint}`);
  return Number(match[1]);
}
