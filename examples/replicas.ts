/**
 * Three replicas of one service sharing a coordination backend: a once-per-cluster task runs on one
 * of them per slot, a sharded task splits twelve resources between them, and when the lease holder
 * stops, the others take its lease and its share.
 *
 *   npm run example:replicas                                   # one process, memory://demo
 *   CONDUCTOR_DEMO_BACKEND=redis://127.0.0.1:6379 npm run example:replicas
 *   CONDUCTOR_DEMO_BACKEND=postgresql://postgres@127.0.0.1:5432/test npm run example:replicas
 *
 * It prints one line per run and stops by itself after about 11 seconds.
 */
import { getCoordinator } from 'conductor-ts/coordination';
import type { RequestContext } from 'conductor-ts/core';
import { getRpcTransport } from 'conductor-ts/messaging';
import { periodicTask, type TaskRun } from 'conductor-ts/periodic';
import { Manager, Service } from 'conductor-ts/service';

const RESOURCES = Array.from({ length: 12 }, (_, i) => `vim-${i + 1}`);
const backendUrl = process.env['CONDUCTOR_DEMO_BACKEND'] ?? 'memory://demo';
const t0 = Date.now();
const at = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s`;

class Inventory extends Manager {
  @periodicTask({ spacing: 1, placement: 'once-per-cluster' })
  report(_ctx: RequestContext, run: TaskRun): void {
    console.log(
      `${at()}  ${this.host}  once-per-cluster  slot ${run.slot} (token ${run.fencingToken})`,
    );
  }

  @periodicTask({ spacing: 2, placement: 'sharded' })
  probe(_ctx: RequestContext, run: TaskRun): void {
    console.log(`${at()}  ${this.host}  sharded           ${run.shard(RESOURCES).join(' ')}`);
  }
}

const transport = await getRpcTransport({ transportUrl: 'memory://replicas-demo' });
const replicas = await Promise.all(
  ['node-a', 'node-b', 'node-c'].map(async (host) => {
    // Short times so that the takeover shows within seconds (defaults: 15 s and 5 s).
    const coordinator = getCoordinator(backendUrl, {
      memberId: host,
      leaseTtl: 1.5,
      heartbeatInterval: 0.5,
      namespace: 'replicas_demo',
    });
    await coordinator.start();
    const service = await Service.create({
      topic: 'INVENTORY',
      manager: Inventory,
      host,
      transport,
      coordination: coordinator,
      reportInterval: 0,
      periodicFuzzyDelay: 0,
    });
    await service.start();
    return { host, service, coordinator };
  }),
);

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
await sleep(5);
const holder = replicas.find((r) => r.service.tasks().some((t) => t.leaseHeld)) ?? replicas[0];
if (holder) {
  // A graceful stop releases the lease and leaves the group: the others take over at their next
  // heartbeat. A crash (no goodbye) costs up to lease_ttl more; test/coordination/faults.test.ts
  // and cluster-processes.test.ts show it with killed processes.
  console.log(`${at()}  -- ${holder.host} stops; the others take its lease and its share --`);
  await holder.service.stop();
  await holder.coordinator.stop();
}
await sleep(6);
for (const r of replicas) {
  if (r === holder) continue;
  await r.service.stop();
  await r.coordinator.stop();
}
await transport.close();
