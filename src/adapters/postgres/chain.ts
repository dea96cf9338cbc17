// The cluster log's hash chain, verified over the audit index as it is read back (`peerlog history`,
// `peerlog replay`, through ReadModelQueries). Every event's hash was checked against its content
// when it was read from Kafka (a mismatch is a dead letter, never an audit row); here the links: each event follows
// exactly one event of the log (or the genesis), and no two follow the same one (a fork: two
// sealers, or an event inserted). The check is independent of the order rows arrived in, since
// the log's partitions interleave. It holds against writers that cannot recompute hashes: one who
// rewrites the whole chain from an event on is not found out here (the head is not signed).
import { GENESIS_HASH } from '../../events/constants.js';
import type { AuditChain } from '../../ports.js';

/** All the check needs of a database session: it reads, and writes nothing. */
interface Query { query(sql: string, params?: unknown[]): Promise<unknown> }

export type { AuditChain };

interface Row { event_id: string; stream_id: string; stream_version: number; prev_hash: string }

const at = (r: Row) => `event ${r.event_id} (${r.stream_id} v${r.stream_version})`;

export async function verifyAuditChain(q: Query): Promise<AuditChain> {
  // Two events that follow the same one: the first of each in time, and the one after it.
  const forks = await q.query(
    `select event_id, stream_id, stream_version, prev_hash from (
       select a.*, count(*) over (partition by prev_hash) as n, row_number() over (partition by prev_hash order by occurred_at, event_id) as k
       from peerlog_audit a) f
     where n > 1 and k <= 2 order by prev_hash, k limit 2`) as Row[];
  if (forks.length === 2) {
    const [a, b] = forks as [Row, Row];
    return {
      valid: false, reason: 'Fork', eventId: b.event_id, streamId: b.stream_id, streamVersion: b.stream_version,
      message: `the hash chain forks: ${at(a)} and ${at(b)} both follow ${a.prev_hash === GENESIS_HASH ? 'the start of the log' : `the event hashed ${a.prev_hash}`} (two writers sealed the log, or an event was inserted)`,
    };
  }
  const broken = await q.query(
    `select a.event_id, a.stream_id, a.stream_version, a.prev_hash from peerlog_audit a
     where a.prev_hash <> $1 and not exists (select 1 from peerlog_audit b where b.hash = a.prev_hash)
     order by a.occurred_at, a.event_id limit 1`, [GENESIS_HASH]) as Row[];
  if (broken[0]) {
    const r = broken[0];
    return {
      valid: false, reason: 'BrokenLink', eventId: r.event_id, streamId: r.stream_id, streamVersion: r.stream_version,
      message: `the hash chain is broken at ${at(r)}: the event it follows (hash ${r.prev_hash}) is not in the log (it was removed or altered: see peerlog_dead_letters)`,
    };
  }
  const n = await q.query('select count(*)::int as n from peerlog_audit') as { n: number }[];
  return { valid: true, events: n[0]!.n };
}
