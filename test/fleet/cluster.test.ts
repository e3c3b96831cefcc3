import { expect } from 'chai';
import { ClusterClient } from '../../src/fleet/cluster-client.js';
import { crc16, keySlot } from '../../src/fleet/cluster-slot.js';
import { BreakerSync, type FleetBreakerSettings } from '../../src/fleet/breaker-sync.js';
import { Fleet } from '../../src/fleet/fleet.js';
import { probeConnection } from '../../src/fleet/status.js';
import { GcraLimiter } from '../../src/fleet/gcra.js';
import { fleetKey } from '../../src/fleet/keys.js';
import { parseRedisUrl } from '../../src/fleet/redis-url.js';
import { RespClient, RespClientError } from '../../src/fleet/resp-client.js';
import { eventually } from '../helpers/eventually.js';
import { redisCluster, type RedisClusterServer } from '../integration/servers.js';

describe('fleet: Redis Cluster key slots', () => {
  it('computes CRC16-XMODEM and the slots of the Redis Cluster specification', () => {
    expect(crc16(Buffer.from('123456789'))).to.equal(0x31c3);
    expect(keySlot('foo')).to.equal(12182);
    expect(keySlot('bar')).to.equal(5061);
    expect(keySlot('')).to.equal(0);
  });

  it('hashes only the first non-empty {tag}, as the server does', () => {
    expect(keySlot('{user1000}.following')).to.equal(keySlot('user1000'));
    expect(keySlot('foo{bar}{zap}')).to.equal(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).to.equal(keySlot('{bar'));
    expect(keySlot('foo{}{bar}')).to.equal(keySlot('foo{}{bar}'.slice(0))); // whole key: {} is empty
    expect(keySlot('foo{}{bar}')).to.not.equal(keySlot('bar'));
    expect(keySlot(fleetKey('svc', 't', 'rate'))).to.equal(keySlot(fleetKey('svc', 't', 'breaker')));
  });
});

describe('fleet: the cluster client on a real Redis Cluster', function () {
  this.timeout(60_000);
  let cluster: RedisClusterServer;
  let client: ClusterClient;
  const direct = new Map<number, RespClient>();

  before(async function () {
    this.timeout(15 * 60_000); // may install redis-server
    cluster = await redisCluster();
    client = new ClusterClient(parseRedisUrl(cluster.nodes[0]!.url), { refreshGapMs: 100, reconnectBaseMs: 50 });
    for (const node of cluster.nodes) direct.set(node.port, new RespClient(node.url));
  });

  after(async () => {
    await client?.close();
    await Promise.all([...direct.values()].map((c) => c.close()));
  });

  function portOf(address: string | undefined): number {
    return Number(address?.slice(address.lastIndexOf(':') + 1));
  }

  /** Targets whose keys are served by each node (keyed by port), `perNode` of each. */
  function targetsPerNode(perNode: number, prefix: string): Map<number, string[]> {
    const byNode = new Map<number, string[]>(cluster.nodes.map((n) => [n.port, []]));
    for (let i = 0; [...byNode.values()].some((list) => list.length < perNode); i++) {
      const target = `https://${prefix}-${i}.example:443`;
      const list = byNode.get(portOf(client.nodeFor(fleetKey('svc', target, 'rate'))))!;
      if (list.length < perNode) list.push(target);
    }
    return byNode;
  }

  it('computes the slot CLUSTER KEYSLOT answers, for random keys with and without hash tags', async () => {
    const node = direct.get(cluster.nodes[0]!.port)!;
    const alphabet = 'abcXYZ019{}:-_ é€😀';
    const keys = Array.from({ length: 300 }, (_, i) => {
      let key = '';
      for (let j = 0; j < 1 + (i % 17); j++) key += [...alphabet][Math.floor(Math.random() * [...alphabet].length)];
      return i % 3 === 0 ? `${key}{${i}}${key}` : key;
    });
    const answers = await Promise.all(keys.map((key) => node.command(['CLUSTER', 'KEYSLOT', key], 5000)));
    expect(keys.map((key) => keySlot(key))).to.deep.equal(answers);
  });

  it('maps the three masters and sends each target\'s leases to the node that owns its slot, each holding the rate', async () => {
    await client.command(['PING'], 5000);
    expect(client.ready).to.equal(true);
    expect(client.masters).to.have.length(3);
    // No script anywhere: each node's first EVALSHA says NOSCRIPT and the load must reach that node.
    await Promise.all([...direct.values()].map((c) => c.command(['SCRIPT', 'FLUSH'], 5000)));
    let now = 1_700_000_000_000;
    const limiter = new GcraLimiter(client, { now: () => now, timeoutMs: 2000 });
    const byNode = targetsPerNode(5, 'spread');
    for (const [port, targets] of byNode) {
      for (const target of targets) {
        const key = fleetKey('svc', target, 'rate');
        // 10 tokens of burst at 100/s: 10 granted, then none until time moves.
        expect(await limiter.lease(key, 100, 10, 50)).to.deep.equal({ granted: 10, retryAfterMs: 10 });
        expect((await limiter.lease(key, 100, 10, 50)).granted).to.equal(0);
        expect(await direct.get(port)!.command(['EXISTS', key], 5000)).to.equal(1);
      }
    }
    now += 50;
    const all = [...byNode.values()].flat();
    const grants = await Promise.all(all.map((target) => limiter.lease(fleetKey('svc', target, 'rate'), 100, 10, 50)));
    expect(grants.map((g) => g.granted)).to.deep.equal(all.map(() => 5));
    // One node's scripts flushed: its targets' next lease loads the script there again.
    const [port, targets] = [...byNode][1]!;
    await direct.get(port)!.command(['SCRIPT', 'FLUSH'], 5000);
    now += 10_000;
    expect((await limiter.lease(fleetKey('svc', targets[0]!, 'rate'), 100, 10, 50)).granted).to.equal(10);
  });

  it('follows ASK while a slot migrates and MOVED once it has moved', async () => {
    await client.command(['PING'], 5000);
    const limiter = new GcraLimiter(client, { now: () => 1_700_000_000_000, timeoutMs: 2000 });
    const target = targetsPerNode(1, 'moving').get(cluster.nodes[0]!.port)![0]!;
    const key = fleetKey('svc', target, 'rate');
    const slot = keySlot(key);
    const [from, to] = [cluster.nodes[0]!, cluster.nodes[1]!];
    expect(portOf(client.nodeFor(key))).to.equal(from.port);
    expect((await limiter.lease(key, 100, 10, 4)).granted).to.equal(4);
    const fromId = await cluster.cli(from.port, 'CLUSTER', 'MYID');
    const toId = await cluster.cli(to.port, 'CLUSTER', 'MYID');
    await cluster.cli(to.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    await cluster.cli(from.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    // A key of the slot not on the old node yet: -ASK, answered by the new one.
    const fresh = key.replace(':rate', ':budget');
    expect((await limiter.lease(fresh, 100, 10, 3)).granted).to.equal(3);
    expect(portOf(client.nodeFor(key))).to.equal(from.port); // ASK does not change the map
    await cluster.cli(from.port, 'MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'AUTH', cluster.password, 'KEYS', key);
    for (const node of cluster.nodes) await cluster.cli(node.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
    // The old node answers -MOVED: followed, and the map says so at once.
    expect((await limiter.lease(key, 100, 10, 10)).granted).to.equal(6);
    expect(portOf(client.nodeFor(key))).to.equal(to.port);
    expect(await direct.get(to.port)!.command(['EXISTS', key], 5000)).to.equal(1);
    expect(await direct.get(to.port)!.command(['EXISTS', fresh], 5000)).to.equal(1); // written there after ASKING
  });

  it('fails the commands of a stopped node fast while the other nodes keep answering, and uses it again once it is back', async () => {
    await client.command(['PING'], 5000);
    const limiter = new GcraLimiter(client, { now: () => Date.now(), timeoutMs: 2000 });
    const byNode = targetsPerNode(2, 'outage');
    const dead = cluster.nodes[2]!;
    const key = (port: number, i = 0): string => fleetKey('svc', byNode.get(port)![i]!, 'rate');
    for (const node of cluster.nodes) expect((await limiter.lease(key(node.port), 1000, 100, 1)).granted).to.equal(1);
    await dead.stop();
    try {
      await eventually(async () => {
        const started = Date.now();
        const failed = await limiter.lease(key(dead.port), 1000, 100, 1).then(
          () => false,
          (error: unknown) => error instanceof RespClientError && error.code === 'UNAVAILABLE' && Date.now() - started < 50,
        );
        return failed;
      }, 5000, 'a fast failure for the stopped node');
      expect(client.ready).to.equal(true);
      for (const node of cluster.nodes.slice(0, 2)) expect((await limiter.lease(key(node.port, 1), 1000, 100, 1)).granted).to.equal(1);
    } finally {
      await dead.start();
    }
    await eventually(async () => (await cluster.cli(dead.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), 15_000, 'the node back in the cluster');
    await eventually(() => limiter.lease(key(dead.port), 1000, 100, 1).then((g) => g.granted === 1, () => false), 10_000, 'leases on the node again');
  });

  it("shares breakers for targets on every node between two instances, and `npx breakwater fleet`'s probe lists them", async () => {
    const settings: FleetBreakerSettings = { rule: { mode: 'consecutive', threshold: 3 }, openMs: 30_000, maxOpenMs: 60_000 };
    const instances = [0, 1].map((i) => new ClusterClient(parseRedisUrl(cluster.nodes[i]!.url), { refreshGapMs: 100 }));
    for (const c of instances) c.connect();
    const syncs = instances.map((c) => new BreakerSync({ client: c, service: 'svc', syncMs: 50 }));
    try {
      await client.command(['PING'], 1000); // the slot map, for targetsPerNode
      const targets = [...targetsPerNode(1, 'breaker').values()].flat();
      const seenBy = targets.map((t) => syncs[1]!.target(t, settings));
      const failing = targets.map((t) => syncs[0]!.target(t, settings));
      // Instance 0 sees every target fail; instance 1 only polls.
      await eventually(() => {
        for (const fleet of failing) fleet.record(true);
        // The sync's clock is the engine's (performance.now()).
        return seenBy.every((fleet) => fleet.view(performance.now()).state === 'open');
      }, 10_000, "every target's breaker open in the other instance");
      const probe = await probeConnection(parseRedisUrl(cluster.nodes[2]!.url), 3000, true, 'svc');
      expect(probe.connection).to.equal('up');
      expect(probe.breakers!.map((b) => [b.target, b.state])).to.deep.equal(targets.sort().map((t) => [t, 'open']));
      const nodes = new Set(targets.map((t) => client.nodeFor(fleetKey('svc', t, 'breaker'))));
      expect(nodes.size, 'the targets are on every node').to.equal(cluster.nodes.length);
    } finally {
      for (const sync of syncs) sync.close();
      await Promise.all(instances.map((c) => c.close()));
    }
  });

  it('gives fleet mode\'s rate leases and retry budgets (Fleet with cluster: true) for targets on every node', async () => {
    const fleet = new Fleet({ endpoint: parseRedisUrl(cluster.nodes[1]!.url), cluster: true, service: 'svc', expectedInstances: 1, syncMs: 250 });
    try {
      const targets = [...targetsPerNode(1, 'fleet').values()].flat();
      const rates = targets.map((target) => fleet.rate(target, { ratePerSecond: 1000, burst: 100 }));
      const budgets = targets.map((target) => fleet.budget(target, { ratio: 0.1, minPerSecond: 0, windowMs: 10_000 })!);
      for (const budget of budgets) for (let i = 0; i < 10; i++) budget.recordFirstAttempt();
      await eventually(() => {
        for (const rate of rates) rate.reserve(Date.now());
        return rates.every((rate) => (rate as unknown as { mode: string }).mode === 'fleet');
      }, 10_000, 'every target\'s rate the fleet\'s');
      await eventually(() => {
        for (const budget of budgets) budget.allowsRetry(performance.now());
        const views = fleet.targets();
        return views.length === targets.length && views.every((t) => t.budget?.mode === 'fleet' && t.budget.firstAttempts === 10);
      }, 10_000, "every target's budget the fleet's, holding its first attempts");
      expect(fleet.status().connection).to.equal('up');
    } finally {
      await fleet.close();
    }
  });
});
