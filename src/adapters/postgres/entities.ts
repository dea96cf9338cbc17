// typeorm entities of the read models (tables created by the hand-written migrations).
import { EntitySchema } from 'typeorm';

export interface AuditEntry {
  eventId: string; clusterId: string; occurredAt: Date; type: string; streamId: string; streamVersion: number;
  actorKind: string; actorName: string; correlationId: string; causationId: string; hash: string; prevHash: string;
}

export interface PeeringEntry {
  clusterId: string; remoteClusterId: string; direction: 'outgoing' | 'incoming'; remoteClusterName: string | null;
  phase: string; streamVersion: number; lastEventType: string; steps: Record<string, string>; updatedAt: Date;
}

export interface AggregateEntry { streamId: string; streamType: string; version: number; state: unknown }

export const AuditEntity = new EntitySchema<AuditEntry>({
  name: 'AuditEntry',
  tableName: 'peerlog_audit',
  columns: {
    eventId: { name: 'event_id', type: 'uuid', primary: true },
    clusterId: { name: 'cluster_id', type: 'text' },
    occurredAt: { name: 'occurred_at', type: 'timestamptz' },
    type: { type: 'text' },
    streamId: { name: 'stream_id', type: 'text' },
    streamVersion: { name: 'stream_version', type: 'int' },
    actorKind: { name: 'actor_kind', type: 'text' },
    actorName: { name: 'actor_name', type: 'text' },
    correlationId: { name: 'correlation_id', type: 'text' },
    causationId: { name: 'causation_id', type: 'text' },
    hash: { type: 'text' },
    prevHash: { name: 'prev_hash', type: 'text' },
  },
});

export const PeeringEntity = new EntitySchema<PeeringEntry>({
  name: 'PeeringEntry',
  tableName: 'peerlog_peerings',
  columns: {
    clusterId: { name: 'cluster_id', type: 'text', primary: true },
    remoteClusterId: { name: 'remote_cluster_id', type: 'text', primary: true },
    direction: { type: 'text', primary: true },
    remoteClusterName: { name: 'remote_cluster_name', type: 'text', nullable: true },
    phase: { type: 'text' },
    streamVersion: { name: 'stream_version', type: 'int' },
    lastEventType: { name: 'last_event_type', type: 'text' },
    steps: { type: 'jsonb' },
    updatedAt: { name: 'updated_at', type: 'timestamptz' },
  },
});

export const AggregateEntity = new EntitySchema<AggregateEntry>({
  name: 'AggregateEntry',
  tableName: 'peerlog_aggregates',
  columns: {
    streamId: { name: 'stream_id', type: 'text', primary: true },
    streamType: { name: 'stream_type', type: 'text' },
    version: { type: 'int' },
    state: { type: 'jsonb' },
  },
});

export const READ_MODEL_ENTITIES = [AuditEntity, PeeringEntity, AggregateEntity] as const;
