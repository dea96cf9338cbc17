// PostgreSQL adapter: a typeorm DataSource on pg, with peerlog's migrations, optionally confined to one schema.
import { DataSource, type EntitySchema } from 'typeorm';
import { MIGRATIONS } from '../../../migrations/index.js';
import { ValidationError } from '../../errors.js';

/** The driver's types that code outside the adapters names (the driver itself stays here). */
export type { DataSource, EntityManager } from 'typeorm';

export interface DataSourceOptions {
  readonly url: string;
  /** Schema to create and use (tests get one each); default: public. */
  readonly schema?: string;
  readonly entities?: readonly EntitySchema<any>[];
  readonly poolSize?: number;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDataSource(opts: DataSourceOptions): Promise<DataSource> {
  if (opts.schema !== undefined && !SCHEMA_RE.test(opts.schema)) throw new ValidationError(`invalid schema name ${JSON.stringify(opts.schema)}`, { code: 'InvalidSchemaName' });
  if (opts.schema !== undefined) {
    // The schema must exist before a pooled connection sets it as its search_path.
    const boot = new DataSource({ type: 'postgres', url: opts.url });
    await boot.initialize();
    try { await boot.query(`create schema if not exists "${opts.schema}"`); } finally { await boot.destroy(); }
  }
  const ds = new DataSource({
    type: 'postgres',
    url: opts.url,
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

export async function dropSchema(url: string, schema: string): Promise<void> {
  if (!SCHEMA_RE.test(schema)) throw new ValidationError(`invalid schema name ${JSON.stringify(schema)}`, { code: 'InvalidSchemaName' });
  const ds = new DataSource({ type: 'postgres', url });
  await ds.initialize();
  try { await ds.query(`drop schema if exists "${schema}" cascade`); } finally { await ds.destroy(); }
}
