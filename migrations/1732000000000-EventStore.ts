// The write side: one row per stream (its folded state and version) and the outbox that the relay
// seals into the cluster log's hash chain and publishes to Kafka. The (stream_id, stream_version)
// key is what makes a concurrent append fail instead of forking a stream.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class EventStore1732000000000 implements MigrationInterface {
  name = 'EventStore1732000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create table peerlog_streams (
        stream_id   text primary key,
        stream_type text not null,
        version     integer not null check (version >= 0),
        state       jsonb not null,
        updated_at  timestamptz not null
      )`);
    await q.query(`
      create table peerlog_outbox (
        position       bigserial primary key,
        cluster_id     text not null,
        stream_id      text not null,
        stream_version integer not null check (stream_version >= 1),
        event_id       uuid not null unique,
        type           text not null,
        envelope       jsonb not null,
        -- null until the relay seals the event (prevHash, hash) into the chain
        hash           text,
        created_at     timestamptz not null default now(),
        published_at   timestamptz,
        unique (stream_id, stream_version)
      )`);
    await q.query(`create index peerlog_outbox_unpublished on peerlog_outbox (position) where published_at is null`);
    // The head of each cluster log's hash chain, advanced by the (single) relay as it seals events,
    // so that appends to different streams never wait for each other.
    await q.query(`
      create table peerlog_log_head (
        cluster_id text primary key,
        last_hash  text not null,
        events     bigint not null
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('drop table peerlog_log_head');
    await q.query('drop table peerlog_outbox');
    await q.query('drop table peerlog_streams');
  }
}
