// Two replicas of one cluster's control plane, each a real `peerlog serve` child on the same log
// (cluster id, schema, topic, namespaces) with its own authentication and kubelet ports, and the
// checks that the replicated plane did the work once: the Lease holder read with kubectl, each
// replica's leadership log lines, the outbox and audit index read with pg, twins read with kubectl.
import assert from 'node:assert/strict';
import { get as httpsGet } from 'node:https';
import type { PeerlogConfig } from '../../src/config.js';
import type { Runtime } from '../../src/runtime.js';
import { GENESIS_HASH } from '../../src/events/constants.js';
import { clusterConfig } from './auth.js';
import { eventually, freePort } from './env.js';
import { logClient } from './log.js';
import { startServe, type ServeChild } from './serve.js';
import { get, kubectlOn, type Kubectl, type Obj } from './unpeering.js';

export interface Replica {
  readonly name: 'a' | 'b';
  readonly config: PeerlogConfig;
  child: ServeChild | undefined;
  /** When each stderr line arrived (ms), by index into child.lines. */
  readonly arrived: number[];
}

export interface ReplicatedPlane extends Kubectl {
  readonly cluster: 'alpha' | 'beta';
  /** Replica a's settings (b differs only by its ports). */
  readonly config: PeerlogConfig;
  readonly fcLabel: Record<string, string>;
  readonly replicas: readonly [Replica, Replica];
  /** For cleanupPlanes: another plane's runtime, lent to drop this one's topic. */
  readonly cp: { readonly runtime: Runtime };
  /** Starts replica `r` and waits until it says it is ready; `killOn` as startServe's. */
  start(r: Replica, opts?: { killOn?: string; traceRequests?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const READY = '"control plane ready"';

export function replicatedPlane(cluster: 'alpha' | 'beta', prefix: string, lend: { cp: { runtime: Runtime } }, extra: Partial<Record<string, string | number>> = {}): ReplicatedPlane {
  const a = clusterConfig(cluster, prefix, { authPort: freePort(), ...extra });
  const bPort = freePort();
  const b: PeerlogConfig = Object.freeze({ ...a, authPort: bPort, authUrl: `https://127.0.0.1:${bPort}`, kubeletPort: freePort() });
  const replicas: [Replica, Replica] = [{ name: 'a', config: a, child: undefined, arrived: [] }, { name: 'b', config: b, child: undefined, arrived: [] }];
  const kubectl = kubectlOn(cluster);
  return {
    cluster, config: a, kubectl, fcLabel: { 'peerlog.dev/test': a.clusterId }, replicas, cp: { runtime: lend.cp.runtime },
    async start(r, opts = {}) {
      const c = startServe(r.config, opts);
      r.child = c;
      r.arrived.length = 0;
      c.child.stderr!.on('data', () => { while (r.arrived.length < c.lines.length) r.arrived.push(Date.now()); });
      await eventually(`replica ${r.name} of ${a.clusterId} ready`, async () => {
        if (c.child.exitCode !== null || c.child.signalCode !== null) throw new Error(`replica ${r.name} ended: ${c.lines.slice(-3).join('\n')}`);
        return c.lines.some((l) => l.includes(READY)) ? true : undefined;
      }, 60_000).catch((e: Error) => { throw new Error(`${e.message}; its last lines:\n${c.lines.filter((l) => !l.includes('"debug"')).slice(-8).join('\n')}`); });
    },
    async stop() {
      await Promise.all(replicas.map((r) => r.child?.stop()));
    },
  };
}

interface Line { readonly msg?: string; readonly time?: string; readonly [k: string]: unknown }

/** The replica's structured log lines with message `msg`. */
export function linesOf(r: Replica, msg: string): Line[] {
  return (r.child?.lines ?? []).flatMap((l) => {
    if (!l.includes(`"${msg}"`)) return [];
    try { const x = JSON.parse(l) as Line; return x.msg === msg ? [x] : []; } catch { return []; }
  });
}

/** When (ms, by arrival) the replica first logged `msg`, or undefined. */
export function firstArrival(r: Replica, msg: string): number | undefined {
  const lines = r.child?.lines ?? [];
  for (let i = 0; i < lines.length; i++) if (lines[i]!.includes(`"msg":"${msg}"`)) return r.arrived[i];
  return undefined;
}

/** The writes (any method but GET) the replica sent once it was ready: "METHOD host path". */
export function writesAfterReady(r: Replica): string[] {
  const lines = r.child?.lines ?? [];
  const ready = lines.findIndex((l) => l.includes(READY));
  return lines.slice(ready + 1).flatMap((l) => {
    if (!l.includes('"request sent"')) return [];
    const x = JSON.parse(l) as { method: string; host: string; path: string };
    return x.method === 'GET' ? [] : [`${x.method} ${x.host} ${x.path}`];
  });
}

/** What the replica's /readyz answers (its endpoint's certificate is self-signed: not verified here). */
export function readyz(r: Replica): Promise<{ status: number; body: { ready?: boolean; leader?: boolean; checks?: Record<string, string> } }> {
  return new Promise((resolve, reject) => {
    httpsGet(`https://127.0.0.1:${r.config.authPort}/readyz`, { rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => { try { resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }); } catch (e) { reject(e as Error); } });
    }).on('error', reject);
  });
}

/** The holder of the cluster's leader Lease, read with kubectl. */
export function leaseHolder(p: ReplicatedPlane): string | undefined {
  return get<Obj & { spec?: { holderIdentity?: string } }>(p, ['get', 'lease', '-n', p.config.systemNamespace, 'peerlog-leader'])?.spec?.holderIdentity;
}

/** The identity a replica leads under (from its "started leading" lines), if it ever led. */
export function identityOf(r: Replica): string | undefined {
  return linesOf(r, 'started leading')[0]?.identity as string | undefined;
}

interface Pod extends Obj { spec: { nodeName?: string }; status?: { phase?: string } }

/** Local pods of app=`app` in `ns` against their twins in `remoteNs`: ready when each of `n` Runs with exactly one Running twin. */
export function twins(consumer: Kubectl, provider: Kubectl, ns: string, app: string, remoteNs: string, n: number, nodeName: string): { ready: boolean; duplicates: number; orphans: number } {
  const local = (get<{ items: Pod[] }>(consumer, ['get', 'pods', '-n', ns, '-l', `app=${app}`])?.items ?? []).filter((p) => !p.metadata.deletionTimestamp);
  const remote = (get<{ items: Pod[] }>(provider, ['get', 'pods', '-n', remoteNs])?.items ?? []).filter((p) => !p.metadata.deletionTimestamp);
  const byOrigin = new Map<string, Pod[]>();
  for (const tw of remote) {
    const origin = tw.metadata.labels?.['peerlog.dev/origin-uid'] ?? '';
    byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), tw]);
  }
  const uids = new Set(local.map((p) => p.metadata.uid!));
  const duplicates = [...byOrigin.values()].reduce((s, l) => s + Math.max(0, l.length - 1), 0);
  const orphans = remote.filter((tw) => !uids.has(tw.metadata.labels?.['peerlog.dev/origin-uid'] ?? '')).length;
  const ready = local.length === n && duplicates === 0 && orphans === 0 && local.every((p) => p.status?.phase === 'Running' && p.spec.nodeName === nodeName
    && byOrigin.get(p.metadata.uid!)?.length === 1 && byOrigin.get(p.metadata.uid!)![0]!.status?.phase === 'Running');
  return { ready, duplicates, orphans };
}

export interface LogFacts {
  /** Per stream, the versions in append order, where they are not 1..n. */
  readonly gaps: readonly string[];
  /** Event ids present more than once in the outbox. */
  readonly duplicateIds: number;
  /** Event types of one stream, counted. */
  readonly types: ReadonlyMap<string, number>;
  /** Audit rows that follow the same event (a fork), rows whose predecessor is missing, events not audited. */
  readonly forks: number;
  readonly broken: number;
  readonly unaudited: number;
  readonly events: number;
  /** Every stream's event types in append order, for the diagnostics. */
  readonly streams: Readonly<Record<string, readonly string[]>>;
}

/** Waits until every outbox row of the plane is published and in the audit index; the last position then. */
export async function settle(config: PeerlogConfig, timeoutMs = 60_000): Promise<number> {
  const db = await logClient(config);
  try {
    return await eventually(`${config.clusterId}'s outbox published and audited`, async () => {
      const r = (await db.query<{ last: string | null; unpublished: string; unaudited: string }>(`
        select max(o.position) as last, count(*) filter (where o.published_at is null) as unpublished, count(*) filter (where a.event_id is null) as unaudited
        from peerlog_outbox o left join peerlog_audit a on a.event_id = o.event_id`)).rows[0]!;
      return Number(r.unpublished) === 0 && Number(r.unaudited) === 0 ? Number(r.last ?? 0) : undefined;
    }, timeoutMs);
  } finally { await db.end(); }
}

/**
 * The plane's log read with pg (once its replicas are stopped): contiguous versions, unique ids,
 * the types of `streamId`, every event up to `settled` (see settle) in the audit index, and the hash
 * chain's links over the audit index — one chain: every event follows exactly one other (or the
 * genesis), and no two follow the same one.
 */
export async function logFacts(config: PeerlogConfig, streamId: string, settled: number): Promise<LogFacts> {
  const db = await logClient(config);
  try {
    const outbox = (await db.query<{ position: string; event_id: string; stream_id: string; stream_version: number; type: string }>(
      'select position, event_id, stream_id, stream_version, type from peerlog_outbox order by position')).rows;
    const versions = new Map<string, number[]>();
    for (const r of outbox) versions.set(r.stream_id, [...(versions.get(r.stream_id) ?? []), r.stream_version]);
    const gaps = [...versions].filter(([, vs]) => vs.some((v, i) => v !== i + 1)).map(([s, vs]) => `${s}: ${vs.join(',')}`);
    const types = new Map<string, number>();
    for (const r of outbox) if (r.stream_id === streamId) types.set(r.type, (types.get(r.type) ?? 0) + 1);
    const streams: Record<string, string[]> = {};
    for (const r of outbox) (streams[r.stream_id] ??= []).push(r.type);
    const links = (await db.query<{ forks: string; broken: string; n: string }>(`
      select (select count(*) from (select prev_hash from peerlog_audit group by prev_hash having count(*) > 1) f) as forks,
             (select count(*) from peerlog_audit a where a.prev_hash <> $1 and not exists (select 1 from peerlog_audit b where b.hash = a.prev_hash)) as broken,
             (select count(*) from peerlog_audit) as n`, [GENESIS_HASH])).rows[0]!;
    const audited = new Set((await db.query<{ event_id: string }>('select event_id from peerlog_audit')).rows.map((r) => r.event_id));
    return {
      gaps, duplicateIds: outbox.length - new Set(outbox.map((r) => r.event_id)).size, types,
      forks: Number(links.forks), broken: Number(links.broken), events: Number(links.n), streams,
      unaudited: outbox.filter((r) => Number(r.position) <= settled && !audited.has(r.event_id)).length,
    };
  } finally { await db.end(); }
}

/** The log facts that hold for a peering done once, asserted. */
export function assertDoneOnce(f: LogFacts, what: string): void {
  assert.deepEqual(f.gaps, [], `${what}: per-stream versions 1..n`);
  assert.equal(f.duplicateIds, 0, `${what}: no event twice in the outbox`);
  assert.equal(f.forks, 0, `${what}: no two events follow the same one in the hash chain`);
  assert.equal(f.broken, 0, `${what}: every event follows one in the log`);
  assert.equal(f.unaudited, 0, `${what}: every event in the audit index`);
}
