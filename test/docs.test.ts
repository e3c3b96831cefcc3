import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as names from '../src/telemetry/names.js';
import { SUPPRESS_REASONS } from '../src/engine/options.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// SHA-256 of the Apache License 2.0 as apache.org publishes it (LICENSE-2.0.txt):
// the package says Apache-2.0, so its LICENSE must be that text, unmodified.
const APACHE_2_0_SHA256 = 'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30';

function markdownUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return markdownUnder(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`],
  );
}

/** Fenced code is not Markdown: a `# comment` there is no heading, a `[x](y)` no link. */
function withoutFences(text: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of text.split('\n')) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    const inside = fence !== undefined || marker !== undefined;
    if (fence === undefined && marker !== undefined) fence = marker;
    else if (fence !== undefined && marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
    // Blank, not dropped: line numbers in failures must match the file.
    lines.push(inside ? '' : line);
  }
  return lines;
}

interface Link {
  readonly line: number;
  readonly target: string;
}

function linksOf(text: string): Link[] {
  const links: Link[] = [];
  withoutFences(text).forEach((raw, index) => {
    // Inline code is text, not a link; its brackets must not open one either.
    const line = raw.replace(/(`+)[^`]*?\1/g, 'code');
    for (const m of line.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ line: index + 1, target: m[1]! });
    const reference = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$/.exec(line);
    if (reference) links.push({ line: index + 1, target: reference[1]! });
  });
  return links;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(text)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (heading) {
      const rendered = heading[1]!.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
      const slug = rendered.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const m of line.matchAll(/<a\s[^>]*(?:name|id)="([^"]+)"/g)) anchors.add(m[1]!);
  }
  return anchors;
}

/** What `npm pack` would publish, as paths relative to the package root. */
function packedFiles(): Set<string> {
  // --ignore-scripts: listing the package must not build it.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [pack] = JSON.parse(out) as [{ files: { path: string }[] }];
  return new Set(pack.files.map((f) => f.path));
}

const shipped = ['README.md', ...markdownUnder('docs')];
const checked = [...shipped, 'collector/README.md'];

describe('docs and package contents', () => {
  let packed: Set<string>;
  before(function () {
    this.timeout(60000);
    packed = packedFiles();
  });

  it('the package holds LICENSE, README.md and every file under docs/', () => {
    const wanted = ['LICENSE', 'README.md', 'package.json', ...filesUnder('docs')];
    expect(wanted.length).to.be.greaterThan(10);
    expect(wanted.filter((f) => !packed.has(f)), 'missing from npm pack').to.deep.equal([]);
  });

  it('LICENSE is the unmodified Apache License 2.0 text, as package.json says', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string; repository: { url: string } };
    expect(pkg.license).to.equal('Apache-2.0');
    expect(pkg.repository.url).to.match(/^git\+https:\/\/github\.com\/[^/]+\/[^/]+\.git$/);
    expect(createHash('sha256').update(readFileSync(join(root, 'LICENSE'))).digest('hex')).to.equal(APACHE_2_0_SHA256);
  });

  it('every relative link resolves to a file (and heading) in the repository, and, from README and docs, in the package', () => {
    const problems: string[] = [];
    let local = 0;
    for (const file of checked) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const { line, target } of linksOf(text)) {
        const where = `${file}:${line} (${target})`;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) {
          problems.push(`${where}: points outside the repository`);
          continue;
        }
        local++;
        const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
        const path = decodeURIComponent(pathPart);
        const absolute = path === '' ? join(root, file) : path.startsWith('/') ? join(root, path) : resolve(root, dirname(file), path);
        const inRepo = relative(root, absolute).split(sep).join('/');
        if (inRepo.startsWith('../') || inRepo === '..' || /(^|\/)shared\//.test(path)) {
          problems.push(`${where}: leaves the repository`);
          continue;
        }
        if (!existsSync(absolute)) {
          problems.push(`${where}: no such file`);
          continue;
        }
        const isDir = statSync(absolute).isDirectory();
        if (shipped.includes(file) && !(isDir ? [...packed].some((p) => p.startsWith(`${inRepo}/`)) : packed.has(inRepo))) {
          problems.push(`${where}: not in the package`);
        }
        if (anchor !== undefined) {
          if (isDir || !absolute.endsWith('.md')) problems.push(`${where}: anchor on a file that has no headings`);
          else if (!anchorsOf(readFileSync(absolute, 'utf8')).has(decodeURIComponent(anchor))) problems.push(`${where}: no heading #${anchor}`);
        }
      }
    }
    expect(local, 'relative links found').to.be.greaterThan(20);
    expect(problems).to.deep.equal([]);
  });

  it('README, docs and collector/README.md name no document outside the repository', () => {
    const mentions = checked.flatMap((file) =>
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .flatMap((text, i) => (/design\.md|shared\//.test(text) ? [`${file}:${i + 1}: ${text.trim()}`] : [])),
    );
    expect(mentions).to.deep.equal([]);
  });

  it('docs/telemetry.md names every span, event, attribute and metric of src/telemetry/names.ts', () => {
    const page = readFileSync(join(root, 'docs/telemetry.md'), 'utf8');
    const exported = Object.entries(names)
      .filter(([key, value]) => /^(ATTR|METRIC|EVENT)_/.test(key) && typeof value === 'string')
      .map(([, value]) => value as string);
    const wanted = [
      ...exported,
      ...names.METRICS.map((m) => m.prometheus),
      ...names.METRICS.map((m) => m.unit),
      ...names.OUTCOMES,
      ...names.HEDGE_RESULTS,
      ...names.LIMIT_REASONS,
      ...names.DECISION_SOURCES,
      ...names.PATTERNS,
      ...SUPPRESS_REASONS,
    ];
    expect(exported.length).to.be.greaterThan(20);
    expect(wanted.filter((name) => !page.includes(`\`${name}\``))).to.deep.equal([]);
  });
});

describe('the docs test helpers', () => {
  it('find inline and reference links outside code, and GitHub heading anchors', () => {
    const text = [
      '# Metric names in Prometheus: what `really` arrives',
      'See [a](docs/a.md#x) and [`code`](b.md "title"), not `[c](c.md)`.',
      '```',
      '# not a heading',
      '[d](d.md)',
      '```',
      '[e]: e.md',
      '## Fields',
      '## Fields',
    ].join('\n');
    expect(linksOf(text).map((l) => `${l.line} ${l.target}`)).to.deep.equal(['2 docs/a.md#x', '2 b.md', '7 e.md']);
    expect([...anchorsOf(text)]).to.deep.equal(['metric-names-in-prometheus-what-really-arrives', 'fields', 'fields-1']);
  });
});
