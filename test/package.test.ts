import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The public API as a user sees it: through the package's `.` export (the built dist),
 * from an ES module and from CommonJS, run by the same Node as the suite.
 */
function run(code: string, type: 'module' | 'commonjs'): string {
  return execFileSync(process.execPath, [type === 'module' ? '--input-type=module' : '--input-type=commonjs', '-e', code], { cwd: root, encoding: 'utf8' });
}

const probe = `
  const target = 'https://api.example.com:443';
  const policy = bw.createPolicy({ name: 'probe', retry: { maxAttempts: 3, baseDelayMs: 1, budgetRatio: 10 }, breaker: { mode: 'consecutive', threshold: 2 } });
  let calls = 0;
  const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  policy.execute(async ({ attempt, signal }) => { calls++; if (!(signal instanceof AbortSignal)) throw new Error('no signal'); if (attempt < 2) throw reset(); return 'ok'; }, { target, idempotent: true, client: 'custom' })
    .then(async (value) => {
      const c = bw.classify(reset());
      const circuit = policy.circuit(target);
      circuit.isolate();
      const rejected = await policy.execute(async () => 'x', { target }).catch((e) => e);
      console.log(JSON.stringify({ value, calls, category: c.category, transient: c.transient, state: circuit.state, rejected: rejected.code, rejectedCategory: bw.getClassification(rejected).category, fns: ['createPolicy', 'classify', 'createClassifier', 'getClassification'].map((n) => typeof bw[n]) }));
    });
`;

const expected = {
  value: 'ok',
  calls: 2,
  category: 'network',
  transient: true,
  state: 'open',
  rejected: 'BREAKWATER_CIRCUIT_OPEN',
  rejectedCategory: 'circuit_open',
  fns: ['function', 'function', 'function', 'function'],
};

describe('package exports', () => {
  it("import('breakwater') gives the public API", () => {
    const out = run(`import * as bw from 'breakwater';\n${probe}`, 'module');
    expect(JSON.parse(out)).to.deep.equal(expected);
  });

  it("require('breakwater') gives the same API from CommonJS", () => {
    const out = run(`const bw = require('breakwater');\n${probe}`, 'commonjs');
    expect(JSON.parse(out)).to.deep.equal(expected);
  });
});
