import { expect } from 'chai';
import { RATIOS, VARIANTS, type Measurement, type Variant } from '../../bench/adapters/cases.js';
import { tableHeader, tableRows } from '../../bench/adapters/report.js';

/** Rounds of one variant whose CPU time per call is `cpuMicros` (wall twice that, user half). */
function rounds(variant: Variant, cpuMicros: number[]): Measurement[] {
  return cpuMicros.map((cpu) => ({ client: 'ioredis', variant, calls: 20_000, wallNsPerCall: cpu * 2000, cpuNsPerCall: cpu * 1000, userCpuNsPerCall: cpu * 500 }));
}

function cells(row: string): string[] {
  return row.split('|').slice(1, -1).map((cell) => cell.trim());
}

describe('bench/adapters report', () => {
  const samples = new Map<Variant, Measurement[]>([
    ['bare', rounds('bare', [40, 44, 42])],
    ['official', rounds('official', [50, 60, 55])],
    ['official-plus-duration', rounds('official-plus-duration', [52, 62, 57])],
    ['breakwater', rounds('breakwater', [60, 70, 65])],
    ['both', rounds('both', [54, 66, 60])],
    ['breakwater-no-sdk', rounds('breakwater-no-sdk', [41, 45, 43])],
  ]);

  it('measures the floor (the official instrumentation plus the call-duration record) against the official alone, under the same target', () => {
    const floor = RATIOS.find((r) => r.variant === 'official-plus-duration');
    expect(floor).to.deep.equal({ variant: 'official-plus-duration', baseline: 'official', target: 1.05 });
    expect(RATIOS.find((r) => r.variant === 'breakwater')?.target).to.equal(floor!.target);
  });

  it('has a column per variant and per ratio, each cell min / median over the rounds, over-target ratios in bold', () => {
    const header = cells(tableHeader().split('\n')[0]!);
    expect(header).to.have.length(2 + VARIANTS.length + RATIOS.length);
    const [, cpuRow] = tableRows('ioredis', samples).split('\n');
    const row = cells(cpuRow!);
    expect(row[1]).to.equal('CPU');
    const column = (label: string): string => row[header.indexOf(label)]!;
    expect(column('official + call duration (µs)')).to.equal('52.0 / 57.0');
    // 52 / 50 and 57 / 55: both at most 1.05, so plain.
    expect(column('official + call duration / official alone (≤ 1.05)')).to.equal('1.04 / 1.04');
    // 60 / 50 and 65 / 55: over.
    expect(column('breakwater alone / official alone (≤ 1.05)')).to.equal('**1.20** / **1.18**');
    expect(column('breakwater, no SDK / bare (≤ 1.05)')).to.equal('1.02 / 1.02');
  });
});
