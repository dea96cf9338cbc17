// The read side: projection bookkeeping (checkpoints stored with the projection's own writes,
// per-stream dedupe positions, rebuild generations, dead letters) and the read models.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Projections1732000001000 implements MigrationInterface {
  name = 'Projections1732000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create table peerlog_checkpoints (
        projection  text not null,
        topic       text not null,
        partition   integer not null,
        next_offset bigint not null,
        updated_at  timestamptz not null default now(),
        primary key (projection, topic, partition)
      )`);
    await q.query(`
      create table peerlog_projection_streams (
        projection text not null,
        stream_id  text not null,
        version    integer not null,
        primary key (projection, stream_id)
      )`);
    await q.query(`
      create table peerlog_projection_generations (
        projection text primary key,
        generation integer not null
      )`);
    await q.query(`
      create table peerlog_dead_letters (
        id          bigserial primary key,
        projection  text not null,
        topic       text not null,
        partition   integer not null,
        "offset"    bigint not null,
        reason      text not null,
        payload     text not null,
        recorded_at timestamptz not null default now(),
        unique (projection, topic, partition, "offset")
      )`);
    await q.query(`
      create table peerlog_audit (
        event_id       uuid primary key,
        cluster_id     text not null,
        occurred_at    timestamptz not null,
        type           text not null,
        stream_id      text not null,
        stream_version integer not null,
        actor_kind     text not null,
        actor_name     text not null,
        correlation_id text not null,
        causation_id   text not null,
        hash           text not null,
        prev_hash      text not null,
        unique (stream_id, stream_version)
      )`);
    await q.query('create index peerlog_audit_time on peerlog_audit (occurred_at)');
    await q.query('create index peerlog_audit_type on peerlog_audit (type)');
    await q.query(`
      create table peerlog_peerings (
        cluster_id          text not null,
        remote_cluster_id   text not null,
        direction           text not null check (direction in ('outgoing', 'incoming')),
        remote_cluster_name text,
        phase               text not null,
        stream_version      integer not null,
        last_event_type     text not null,
        steps               jsonb not null,
        updated_at          timestamptz not null,
        primary key (cluster_id, remote_cluster_id, direction)
      )`);
    await q.query(`
      create table peerlog_aggregates (
        stream_id   text primary key,
        stream_type text not null,
        version     integer not null,
        state       jsonb not null
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['peerlog_aggregates', 'peerlog_peerings', 'peerlog_audit', 'peerlog_dead_letters',
      'peerlog_projection_generations', 'peerlog_projection_streams', 'peerlog_checkpoints']) {
      await q.query(`drop table ${t}`);
    }
  }
}
