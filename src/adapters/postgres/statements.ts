// Named statements on the connection of a typeorm transaction: PostgreSQL parses and plans each
// once per pooled connection instead of on every batch (typeorm's query() cannot name them).
import type pg from 'pg';
import type { EntityManager } from 'typeorm';
import { InternalError } from '../../errors.js';

export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** The pg client a transaction's EntityManager runs on. */
export async function clientOf(tx: EntityManager): Promise<pg.PoolClient> {
  if (!tx.queryRunner) throw new InternalError('NotInTransaction', 'a statement on a transaction needs the EntityManager of a transaction');
  return await tx.queryRunner.connect() as pg.PoolClient;
}

export async function runStatement<R extends object>(tx: EntityManager, statement: Statement, values: readonly unknown[]): Promise<R[]> {
  const client = await clientOf(tx);
  return (await client.query<R>({ name: statement.name, text: statement.text, values: [...values] })).rows;
}
