// Hand-written migrations in the order they apply (never `synchronize`).
import { EventStore1732000000000 } from './1732000000000-EventStore.js';
import { Projections1732000001000 } from './1732000001000-Projections.js';
import { IssuedCertificates1732000002000 } from './1732000002000-IssuedCertificates.js';
import { AuditTimeRange1732000003000 } from './1732000003000-AuditTimeRange.js';
import { ReadModelVersions1732000004000 } from './1732000004000-ReadModelVersions.js';
import { Views1732000005000 } from './1732000005000-Views.js';
import { OffloadedPods1732000006000 } from './1732000006000-OffloadedPods.js';

export const MIGRATIONS = [EventStore1732000000000, Projections1732000001000, IssuedCertificates1732000002000, AuditTimeRange1732000003000, ReadModelVersions1732000004000, Views1732000005000, OffloadedPods1732000006000] as const;
