import { expect } from 'chai';
import type { Measurement, RateMeasurement } from '../../bench/fleet/cases.js';
import { callsDueBy, tickedOpenLoop } from '../../bench/fleet/open-loop.js';
import { commandCounts, commandsBetween, overheadTable, rateTable, splitCommands } from '../../bench/fleet/report.js';

const INFO = ['# Commandstats', 'cmdstat_evalsha:calls=30,usec=210,usec_per_call=7.00,rejected_calls=0,failed_calls=0', 'cmdstat_script|load:calls=1,usec=20', 'cmdstat_info:calls=2,usec=50', 'cmdstat_get:calls=30,usec=9', ''].join('\r\n');

describe('bench/fleet', () => {
  it('commandCounts reads calls per command from INFO commandstats, subcommands included', () => {
    expect(commandCounts(INFO)).to.deep.equal({ evalsha: 30, 'script|load': 1, info: 2, get: 30 });
    expect(commandCounts('# Commandstats\r\n')).to.deep.equal({});
  });

  it('commandsBetween subtracts, counts a new command from zero and leaves out the reader\'s INFO', () => {
    const before = { evalsha: 30, info: 2, get: 30 };
    const after = { evalsha: 130, info: 3, get: 130, set: 100, ping: 1 };
    expect(commandsBetween(before, after)).to.deep.equal({ evalsha: 100, get: 100, set: 100, ping: 1 });
    expect(commandsBetween(before, before)).to.deep.equal({});
  });

  it('splitCommands tells the requests sent from the commands scripts ran', () => {
    expect(splitCommands({ evalsha: 100, 'script|load': 1, ping: 1, get: 100, set: 100, time: 100 })).to.deep.equal({ sent: 102, inScripts: 300 });
  });

  it('callsDueBy: the first call at 0, then one per 1000 / rate ms', () => {
    expect(callsDueBy(1000, -1)).to.equal(0);
    expect(callsDueBy(1000, 0)).to.equal(1);
    expect(callsDueBy(1000, 9.99)).to.equal(10);
    expect(callsDueBy(1000, 10)).to.equal(11);
    expect(callsDueBy(10_000, 1000 - 1e-6)).to.equal(10_000);
    expect(() => callsDueBy(0, 10)).to.throw(RangeError);
  });

  it('tickedOpenLoop starts the calls due within the duration, without waiting for earlier ones, and counts failures', async () => {
    let started = 0;
    let open = 0;
    let mostOpen = 0;
    const result = await tickedOpenLoop(
      2000,
      50,
      async () => {
        const index = started++;
        open++;
        mostOpen = Math.max(mostOpen, open);
        await new Promise((resolve) => setTimeout(resolve, 30));
        open--;
        if (index % 10 === 0) throw new Error('failed');
      },
      5,
    );
    expect(result).to.deep.equal({ calls: 100, failed: 10 });
    expect(mostOpen, 'an open loop: calls overlap').to.be.greaterThan(1);
  });

  it('overheadTable: min / median per variant, and fleet minus local (of the minimums / median of per-round differences), over target in bold', () => {
    const m = (variant: Measurement['variant'], ns: number, decision = 'local'): Measurement => ({ variant, calls: 1, wallNsPerCall: ns, cpuNsPerCall: ns / 2, decision });
    const table = overheadTable(
      new Map([
        ['local', [m('local', 1000), m('local', 1200), m('local', 1100)]],
        ['fleet', [m('fleet', 1100, 'fleet'), m('fleet', 3500, 'fleet'), m('fleet', 1300, 'fleet')]],
      ]),
    ).split('\n');
    expect(table[2]).to.equal('| local mode (`BREAKWATER_FLEET=false`) | 1000 / 1100 | 500 / 550 | local |');
    expect(table[3]).to.equal('| fleet mode, Redis healthy | 1100 / 1300 | 550 / 650 | fleet |');
    // per round: 100, 2300, 200 (wall); 50, 1150, 100 (CPU)
    expect(table[4]).to.equal('| difference: fleet mode, Redis healthy − local | 100 / 200 | 50 / 100 | target ≤ 1000 |');
    expect(table).to.have.length(5);
    const over = overheadTable(new Map([['local', [m('local', 1000)]], ['fleet', [m('fleet', 2500, 'fleet')]]]));
    expect(over).to.include('| **1500** / **1500** | 750 / 750 |');
  });

  it('rateTable: per second of the run, requests sent apart from commands run in scripts', () => {
    const run: RateMeasurement = { variant: 'fleet', callsPerSecond: 1000, seconds: 10, calls: 10_000, commands: { evalsha: 100, get: 100, ping: 1 }, cpuMsPerSecond: 12.4, decision: 'fleet' };
    const [header, , row] = rateTable([run]).split('\n');
    expect(header).to.equal('| mode | calls/s (asked) | calls/s (made) | `EVALSHA`/s | `PING`/s | `GET`/s (in scripts) | requests sent/s | commands in scripts/s | instance CPU (ms/s) | rate decision |');
    expect(row).to.equal('| fleet | 1,000 | 1,000 | 10.0 | 0.1 | 10.0 | **10.1** | 10.0 | 12 | fleet |');
  });
});
