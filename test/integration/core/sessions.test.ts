import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { handleCommand } from '../../../src/commands/handle.js';
import { outgoingDecider } from '../../../src/commands/outgoing/decider.js';
import { openTestRuntime, peeringScript, OUTGOING } from '../../support/core.js';
import { eventually, uniqueName } from '../../support/env.js';
import { driversOf } from '../../../src/runtime.js';

const decider = outgoingDecider as never;
const CHILD = fileURLToPath(new URL('./fixtures/log-process.js', import.meta.url));

test('terminating the relay\'s and the projection\'s lock sessions leaves the process alive; both take their locks again and go on', async () => {
  const rt = await openTestRuntime('sessions');
  // Every session of the child is named (whatever name peerlog gives its own), so that only its
  // sessions are terminated, never another test's.
  const appName = uniqueName('sessions');
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, PGAPPNAME: appName, PEERLOG_TEST_CONFIG: JSON.stringify(rt.config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`the log process exited (${signal ?? code})`)));
  const alive = <T>(what: Promise<T>): Promise<T> => Promise.race([what, exited.then((why) => { throw new Error(why); })]);
  const admin = new pg.Client({ connectionString: rt.config.databaseUrl, application_name: 'test-admin' });
  await admin.connect();
  const lockSessions = `select pid from pg_stat_activity
    where (application_name = $1 or application_name like $2 or application_name like $3)
      and (query like 'listen%' or query like '%advisory_lock%') and pid <> pg_backend_pid()`;
  const scope = [appName, `%${rt.config.clusterId}%`, `%${rt.config.dbSchema}%`];
  const audited = async (n: number) => {
    const r = await driversOf(rt).ds.query('select count(*)::int as n from peerlog_audit') as { n: number }[];
    return r[0]!.n >= n ? true : undefined;
  };
  try {
    await alive(once(child.stdout, 'data'));
    for (const c of peeringScript('before')) await handleCommand(rt.ports, decider, OUTGOING('before'), c);
    await alive(eventually('the events before to be projected', () => audited(8)));

    const before = await admin.query(lockSessions, scope);
    assert.equal(before.rowCount, 2, 'the relay\'s session (LISTEN) and the projection\'s lock session');
    const killed = await admin.query(`select pg_terminate_backend(pid) from (${lockSessions}) s`, scope);
    assert.equal(killed.rowCount, 2);

    // Commands go on; the relay publishes them once it holds its lock again, and the projection,
    // once it holds its own again, applies them: all within the same process.
    for (const c of peeringScript('after')) await handleCommand(rt.ports, decider, OUTGOING('after'), c);
    await alive(eventually('the events after to be projected', () => audited(16), 45_000));
    const unpublished = await driversOf(rt).ds.query('select count(*)::int as n from peerlog_outbox where published_at is null') as { n: number }[];
    assert.equal(unpublished[0]!.n, 0);
    const again = await admin.query(lockSessions, scope);
    assert.equal(again.rowCount, 2, 'both locks held again, on new sessions');
    assert.deepEqual(again.rows.filter((r: { pid: number }) => before.rows.some((b: { pid: number }) => b.pid === r.pid)), []);
    assert.equal(child.exitCode, null);
    assert.equal(child.signalCode, null);
  } finally {
    child.kill('SIGKILL');
    await exited;
    await admin.end();
    await rt.cleanup();
  }
});
