// PostgreSQL adapter: a typeorm DataSource on pg, with peerlog's migrations, optionally confined to one schema.
import { DataSource, type EntitySchema } from 'typeorm';
import { MIGRATIONS } from '../../../migrations/index.js';
import { ValidationError } from '../../errors.js';
import { pgConnection, type PgTls } from './tls.js';

/** The driver's types that code outside the adapters names (the driver itself stays here). */
export type { DataSource, EntityManager } from 'typeorm';

export interface DataSourceOptions {
  readonly url: string;
  /** Schema to create and use (tests get one each); default: public. */
  readonly schema?: string;
  readonly entities?: readonly EntitySchema<any>[];
  readonly poolSize?: number;
  /** Create the schema when it is missing (default true); a reader that must not write passes false. */
  readonly createSchema?: boolean;
}

/** typeorm's spelling of a pg connection. */
function pgOptions(url: string): { url: string; ssl: false | PgTls } {
  const c = pgConnection(url);
  return { url: c.connectionString, ssl: c.ssl };
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDataSource(opts: DataSourceOptions): Promise<DataSource> {
  if (opts.schema !== undefined && !SCHEMA_RE.test(opts.schema)) throw new ValidationError(`invalid schema name ${JSON.stringify(opts.schema)}`, { code: 'InvalidSchemaName' });
  if (opts.schema !== undefined && opts.createSchema !== false) {
    // The schema must exist before a pooled connection sets it as its search_path.
    const boot = new DataSource({ type: 'postgres', ...pgOptions(opts.url) });
    await boot.initialize();
    try { await boot.query(`create schema if not exists "${opts.schema}"`); } finally { await boot.destroy(); }
  }
  const ds = new DataSource({
    type: 'postgres',
    ...pgOptions(opts.url),
    schema: opts.schema,
    entities: [...(opts.entities ?? [])],
    migrations: [...MIGRATIONS],
    migrationsTableName: 'peerlog_migrations',
    synchronize: false,
    logging: false,
    poolSize: opts.poolSize ?? 10,
    extra: opts.schema ? { options: `-c search_path=${opts.schema}` } : {},
  });
  await ds.initialize();
  return ds;
}

export async function migrate(ds: DataSource): Promise<string[]> {
  const ran = await ds.runMigrations({ transaction: 'each' });
  return ran.map((m) => m.name);
}

/** Every migration, in the order they apply. */
export const MIGRATION_NAMES: readonly string[] = MIGRATIONS.map((m) => m.name);

/** The migrations the schema has not run (all of them when it was never migrated); changes nothing. */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  const all = [...MIGRATION_NAMES];
  const table = await ds.query(`select to_regclass('peerlog_migrations') is not null as present`) as { present: boolean }[];
  if (!table[0]?.present) return all;
  const ran = new Set((await ds.query('select name from peerlog_migrations') as { name: string }[]).map((r) => r.name));
  return all.filter((n) => !ran.has(n));
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  if (!SCHEMA_RE.test(schema)) throw new ValidationError(`invalid schema name ${JSON.stringify(schema)}`, { code: 'InvalidSchemaName' });
  const ds = new DataSource({ type: 'postgres', ...pgOptions(url) });
  await ds.initialize();
  try { await ds.query(`drop schema if exists "${schema}" cascade`); } finally { await ds.destroy(); }
}
