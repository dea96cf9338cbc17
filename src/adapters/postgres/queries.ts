// The read side's queries (ReadModelQueries) on PostgreSQL: the read models, the outbox and the
// stream rows, read and never written.
import type { DataSource } from 'typeorm';
import type { EventEnvelope } from '../../events/envelope.js';
import { parseStreamId, streamIdOf } from '../../commands/registry.js';
import type { ReadModelQueries, ReceivedOffer } from '../../ports.js';
import { verifyAuditChain } from './chain.js';
import { AuditEntity, PeeringEntity } from './entities.js';

const PEERING_EVENTS = `select envelope from peerlog_outbox where stream_id = any($1::text[]) and hash is not null order by stream_id, stream_version`;

export function createReadModelQueries(ds: DataSource): ReadModelQueries {
  return {
    async listReceivedOffers() {
      const rows = await ds.query(
        `select stream_id, state from peerlog_streams where stream_type = 'outgoing' and state ? 'offer' order by stream_id`,
      ) as { stream_id: string; state: { status: string; offer: { offerName: string; generation: number; resources: Record<string, string> } } }[];
      return rows.map((r): ReceivedOffer => ({
        remoteClusterId: parseStreamId(r.stream_id).remoteClusterId,
        status: r.state.status, offerName: r.state.offer.offerName, generation: r.state.offer.generation, resources: r.state.offer.resources,
      }));
    },
    async peeringHistory(remote) {
      const peerings = await ds.getRepository(PeeringEntity).find({
        where: remote ? { remoteClusterId: remote } : {}, order: { remoteClusterId: 'ASC', direction: 'ASC' },
      });
      const streamIds = peerings.map((p) => `${p.direction}-${p.remoteClusterId}`);
      const events = streamIds.length === 0 ? [] : await ds.getRepository(AuditEntity).createQueryBuilder('a')
        .where('a.streamId in (:...streamIds)', { streamIds })
        .orderBy('a.occurredAt', 'ASC').addOrderBy('a.streamId', 'ASC').addOrderBy('a.streamVersion', 'ASC').getMany();
      return { peerings, events };
    },
    async lastVersion(streamId) {
      const r = await ds.query('select coalesce(max(stream_version), 0)::int as v from peerlog_outbox where stream_id = $1', [streamId]) as { v: number }[];
      return r[0]!.v;
    },
    async eventsAfter(streamId, version) {
      const rows = await ds.query('select envelope from peerlog_outbox where stream_id = $1 and stream_version > $2 order by stream_version', [streamId, version]) as { envelope: EventEnvelope }[];
      return rows.map((r) => r.envelope);
    },
    async peeringEvents(remotes) {
      if (remotes.length === 0) return [];
      const streamIds = remotes.flatMap((r) => (['outgoing', 'incoming', 'pods'] as const).map((k) => streamIdOf(k, r)));
      // The (stream_id, stream_version) key's index: a peering's events cost the same among millions.
      const rows = await ds.query(PEERING_EVENTS, [streamIds]) as { envelope: EventEnvelope }[];
      return rows.map((r) => r.envelope);
    },
    verifyChain: () => verifyAuditChain(ds),
    async ping() { await ds.query('select 1'); },
  };
}
