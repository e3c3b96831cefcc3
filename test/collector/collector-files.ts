/** The Collector configuration files in collector/, read and parsed as the Collector would. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const COLLECTOR_CONFIG_FILES = ['otelcol.yaml', 'gateway-agent.yaml', 'gateway.yaml'] as const;
export type CollectorConfigFile = (typeof COLLECTOR_CONFIG_FILES)[number];

/**
 * Parses Collector YAML. A key defined twice is an error here (yaml's default), where a
 * lenient parser would keep the last: the second `batch:` would silently replace the first.
 */
export function parseCollectorYaml(text: string): unknown {
  return parse(text);
}

export function readCollectorConfig(file: CollectorConfigFile): unknown {
  // Compiled to build/test/collector/, three levels below the repository root.
  return parseCollectorYaml(readFileSync(new URL(`../../../collector/${file}`, import.meta.url), 'utf8'));
}
