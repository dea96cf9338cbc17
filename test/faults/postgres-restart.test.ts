// Issue 16, fault suite — PostgreSQL restarted. The stack's PostgreSQL is stopped (its fast
// shutdown) mid-run — during a peering with offloaded pods, or while pods are offloaded — and started
// again after a few seconds (PEERLOG_FAULTS_PG_DOWN_S, default 10). Meanwhile the control plane run
// as `peerlog serve` answers /readyz 503 and names the database as what fails; once PostgreSQL is
// back it is ready again and resumes from its checkpoints as the same process (the same pid, never
// restarted), the pods converge, the unpeering leaves both sides clean and both logs pass the
// invariants (test/support/faults.ts). Restarts the stack's PostgreSQL: run on a stack of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { request } from 'node:https';
import { eventually } from '../support/env.js';
import { newResult, outageTrial, rng, summaryLine, type TrialResult } from '../support/faults.js';
import { startComponent, stopComponent } from '../../src/stack/control.js';

const FULL = process.env.PEERLOG_FAULTS === 'full';
const DOWN_MS = Number(process.env.PEERLOG_FAULTS_PG_DOWN_S ?? 10) * 1000;
const SEED = Number(process.env.PEERLOG_FAULTS_SEED ?? randomInt(1, 2 ** 31));
const PODS = FULL ? 20 : 10;
const TRIALS = Number(process.env.PEERLOG_FAULTS_TRIALS ?? (FULL ? 4 : 2));
/** Cycles so that two trials cover a restart during the peering (alpha served) and during offloading (beta served). */
const KINDS = [
  { during: 'peering', serve: 'alpha' }, { during: 'offloading', serve: 'beta' },
  { during: 'peering', serve: 'beta' }, { during: 'offloading', serve: 'alpha' },
] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Readyz { readonly status: number; readonly body: { ready?: boolean; checks?: Record<string, string> } }

/** GET /readyz of a control plane (its own self-signed certificate: not verified here). */
function readyz(url: string): Promise<Readyz> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/readyz`, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => { try { resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as Readyz['body'] }); } catch (e) { reject(e as Error); } });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test(`PostgreSQL restarted mid-run (${DOWN_MS / 1000} s down; ${TRIALS} trials, ${PODS} pods, seed ${SEED})`, async (t) => {
  const results: TrialResult[] = [];
  let down = false;
  t.after(async () => { if (down) await startComponent('postgres'); });
  for (let i = 0; i < TRIALS; i++) {
    const { during, serve } = KINDS[i % KINDS.length]!;
    const r = newResult();
    results.push(r);
    const afterMs = Math.floor(rng(SEED + i)() * 8_000);
    await t.test(`trial ${i}: PostgreSQL restarted during the ${during}, ${serve} as peerlog serve, at +${afterMs} ms`, async (tt) => {
      let pid: number | undefined;
      await outageTrial(tt, r, {
        prefix: `pgr${i}`, pods: PODS, during, serve,
        restore: async () => { if (down) { await startComponent('postgres'); down = false; } },
        fault: async (ctx) => {
          const served = ctx.served!;
          pid = served.child.child.pid;
          assert.equal((await readyz(served.cp.url)).status, 200, 'ready before the restart');
          if (during === 'offloading') ctx.workload();
          await sleep(afterMs);
          await stopComponent('postgres');
          down = true;
          const stoppedAt = Date.now();
          // 1. Unready, naming the database.
          const unready = await eventually('/readyz 503 naming the database', async () => {
            const z = await readyz(served.cp.url);
            return z.status === 503 && z.body.checks?.database !== 'ok' ? z : undefined;
          }, DOWN_MS + 20_000);
          tt.diagnostic(`trial ${i}: /readyz ${unready.status} ${JSON.stringify(unready.body)} ${Date.now() - stoppedAt} ms after the stop`);
          assert.equal(unready.body.ready, false);
          assert.equal(unready.body.checks?.database, 'failing');
          await sleep(Math.max(0, DOWN_MS - (Date.now() - stoppedAt)));
          await startComponent('postgres');
          down = false;
          const back = Date.now();
          // 2. Ready again, the same process.
          const ready = await eventually('/readyz 200 again', async () => {
            const z = await readyz(served.cp.url);
            return z.status === 200 ? z : undefined;
          }, 60_000);
          tt.diagnostic(`trial ${i}: /readyz ${ready.status} ${JSON.stringify(ready.body)} ${Date.now() - back} ms after PostgreSQL came back`);
          return back;
        },
        converged: async (ctx) => {
          const c = ctx.served!.child.child;
          assert.equal(c.exitCode, null, 'peerlog serve never exited');
          assert.equal(c.signalCode, null, 'peerlog serve was never killed');
          assert.equal(ctx.served!.child.child.pid, pid, 'the same process');
          // Resumed: its relay and every projection say ok again (each took its lock and checkpoint back).
          const z = await eventually('relay and projections ok in /readyz', async () => {
            const x = await readyz(ctx.served!.cp.url);
            return x.status === 200 && x.body.checks?.relay === 'ok' && x.body.checks.projections === 'ok' ? x : undefined;
          }, 60_000);
          tt.diagnostic(`trial ${i}: resumed, /readyz ${JSON.stringify(z.body)}`);
        },
      });
    });
  }
  const line = summaryLine(`postgres restart (${DOWN_MS / 1000} s down)`, results, `seed ${SEED}`);
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
});
