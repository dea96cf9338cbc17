// Issue 16, fault suite — the provider's kube-apiserver stopped. With pods offloaded from alpha to
// beta, beta's kube-apiserver is stopped for the outage (60 s in CI-sized and full
// runs alike; PEERLOG_FAULTS_OUTAGE_S sets another). Meanwhile alpha's ForeignCluster says so (VirtualNodeReady False, reason
// ProviderUnreachable) and every local pod stays, Running (their twins are kwok pods on beta, which
// nothing deletes). Once it is back: VirtualNodeReady True again with no manual step, one Running twin
// per pod, the unpeering leaves both sides clean and both logs pass the invariants
// (test/support/faults.ts). Stops a kube-apiserver of the stack: run on a stack of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { eventually } from '../support/env.js';
import { newResult, outageMs, outageTrial, summaryLine, twinsOf, type OutageContext, type Pod, type TrialResult } from '../support/faults.js';
import { get } from '../support/unpeering.js';
import { startComponent, stopComponent } from '../../src/stack/control.js';

const FULL = process.env.PEERLOG_FAULTS === 'full';
const OUTAGE_MS = outageMs(60);
const SEED = Number(process.env.PEERLOG_FAULTS_SEED ?? randomInt(1, 2 ** 31));
const PODS = FULL ? 20 : 10;
const TRIALS = Number(process.env.PEERLOG_FAULTS_TRIALS ?? (FULL ? 2 : 1));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Cond { type: string; status: string; reason?: string; message?: string }

function virtualNodeReady(ctx: OutageContext): Cond | undefined {
  return get<{ status?: { conditions?: Cond[] } }>(ctx.alpha, ['get', 'foreigncluster', ctx.beta.config.clusterId])?.status?.conditions?.find((c) => c.type === 'VirtualNodeReady');
}

/** The local pods (uid and phase), none being deleted. */
function localPods(ctx: OutageContext): { uid: string; phase: string }[] {
  return (get<{ items: Pod[] }>(ctx.alpha, ['get', 'pods', '-n', ctx.ns, '-l', 'app=work'])?.items ?? [])
    .filter((p) => !p.metadata.deletionTimestamp).map((p) => ({ uid: p.metadata.uid!, phase: p.status?.phase ?? '' }));
}

/** beta's own kwok workers, which missed their heartbeats: Ready and untainted again before the next test. */
async function workersReady(ctx: OutageContext): Promise<void> {
  await eventually('beta\'s workers Ready and untainted again', async () => {
    const list = get<{ items: { status: { conditions: Cond[] }; spec: { taints?: { key: string }[] } }[] }>(ctx.beta, ['get', 'nodes', '-l', 'type=kwok'])?.items ?? [];
    return list.length > 0 && list.every((n) => n.status.conditions.find((c) => c.type === 'Ready')?.status === 'True' && !(n.spec.taints ?? []).some((x) => x.key.startsWith('node.kubernetes.io/'))) ? true : undefined;
  }, 180_000);
}

test(`the provider's kube-apiserver stopped ${OUTAGE_MS / 1000} s with pods offloaded (${TRIALS} trials, ${PODS} pods, seed ${SEED})`, async (t) => {
  const results: TrialResult[] = [];
  let down = false;
  t.after(async () => { if (down) await startComponent('kube-apiserver-beta'); });
  for (let i = 0; i < TRIALS; i++) {
    const r = newResult();
    results.push(r);
    await t.test(`trial ${i}: beta's kube-apiserver stopped ${OUTAGE_MS / 1000} s`, async (tt) => {
      await outageTrial(tt, r, {
        prefix: `apo${i}`, pods: PODS, during: 'offloading',
        restore: async () => { if (down) { await startComponent('kube-apiserver-beta'); down = false; } },
        fault: async (ctx) => {
          ctx.workload();
          await eventually(`${PODS} pods offloaded, each with one Running twin`, async () => (twinsOf(ctx.alpha, ctx.beta, ctx.ns, ctx.remoteNs, PODS, ctx.nodeName).ready ? true : undefined), 120_000);
          const before = localPods(ctx).map((p) => p.uid).sort();
          await stopComponent('kube-apiserver-beta');
          down = true;
          const stoppedAt = Date.now();
          // 1. The ForeignCluster says the provider does not answer.
          const said = await eventually('VirtualNodeReady False, ProviderUnreachable', async () => {
            const c = virtualNodeReady(ctx);
            return c?.status === 'False' ? c : undefined;
          }, Math.max(OUTAGE_MS, 60_000));
          tt.diagnostic(`trial ${i}: ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the stop: VirtualNodeReady ${said.status} ${said.reason}: ${said.message}`);
          assert.equal(said.reason, 'ProviderUnreachable');
          // 2. The pods stay, Running, the whole outage.
          while (Date.now() - stoppedAt < OUTAGE_MS) {
            const now = localPods(ctx);
            assert.deepEqual(now.map((p) => p.uid).sort(), before, 'the same local pods');
            assert.deepEqual(now.filter((p) => p.phase !== 'Running'), [], 'every local pod Running');
            await sleep(2_000);
          }
          await startComponent('kube-apiserver-beta');
          down = false;
          return Date.now();
        },
        converged: async (ctx) => {
          const c = await eventually('VirtualNodeReady True again', async () => {
            const x = virtualNodeReady(ctx);
            return x?.status === 'True' ? x : undefined;
          }, 60_000);
          tt.diagnostic(`trial ${i}: VirtualNodeReady ${c.status} ${c.reason}`);
          await workersReady(ctx);
        },
      });
    });
  }
  const line = summaryLine(`provider apiserver outage (${OUTAGE_MS / 1000} s)`, results, `seed ${SEED}`);
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
});
