// Hand-written migrations in the order they apply (never `synchronize`).
import { EventStore1732000000000 } from './1732000000000-EventStore.js';

export const MIGRATIONS = [EventStore1732000000000] as const;
