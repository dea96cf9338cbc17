// Session-level advisory locks, each on a PostgreSQL session of its own. The session can be lost
// at any time (PostgreSQL restarts or fails over, an idle backend is terminated): its 'error' is
// always handled, and whoever holds the lock learns of the loss through `lost`, stops the work the
// lock protects and takes the lock again; the process never dies of it.
import pg from 'pg';
import { pgConnection } from './tls.js';
import { AbortedError, PeerlogError } from '../../errors.js';

export interface LockSession {
  /** The session: its notifications (LISTEN) come and go with it. */
  readonly client: pg.Client;
  /** Resolves with the error once the session is lost; never after `release()`. */
  readonly lost: Promise<Error>;
  isLost(): boolean;
  /** Ends the session, and so releases the lock. */
  release(): Promise<void>;
}

export interface LockOptions {
  readonly databaseUrl: string;
  /** Hashed into the advisory lock's key. */
  readonly key: string;
  /** `application_name` of the session, so that operators (and tests) can tell it in pg_stat_activity. */
  readonly applicationName: string;
  /** Wait until the lock is free (a standby) rather than answer at once. */
  readonly wait: boolean;
  /** Aborting ends the session, a wait for the lock included. */
  readonly signal?: AbortSignal;
}

/** PostgreSQL's limit on application_name (NAMEDATALEN - 1); longer names are cut silently. */
const APPLICATION_NAME_MAX = 63;

export function applicationName(...parts: readonly string[]): string {
  return parts.join(':').slice(0, APPLICATION_NAME_MAX);
}

/** Takes the lock; resolves with its session, or with undefined when `wait` is false and another session holds it. */
export async function openLockSession(o: LockOptions): Promise<LockSession | undefined> {
  // TCP keepalive: a session whose peer vanished without a word (a half-open connection) errors too.
  const client = new pg.Client({ ...pgConnection(o.databaseUrl), application_name: o.applicationName, keepAlive: true });
  let released = false;
  let lostWith: Error | undefined;
  let markLost!: (e: Error) => void;
  const lost = new Promise<Error>((resolve) => { markLost = resolve; });
  const onLoss = (e: Error) => {
    if (released || lostWith) return;
    lostWith = e;
    markLost(e);
  };
  client.on('error', onLoss);
  client.on('end', () => onLoss(new PeerlogError('LockLost', 'the lock session ended')));
  const release = async () => {
    if (released) return;
    released = true;
    await client.end().catch(() => undefined);
  };
  const abort = () => { void release(); };
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (o.signal?.aborted) throw new AbortedError('aborted');
    await client.connect();
    const r = o.wait
      ? await client.query('select pg_advisory_lock(hashtext($1)), true as ok', [o.key])
      : await client.query('select pg_try_advisory_lock(hashtext($1)) as ok', [o.key]);
    if (!r.rows[0].ok) { await release(); return undefined; }
    if (lostWith) throw lostWith;
  } catch (e) {
    await release();
    throw e;
  } finally {
    o.signal?.removeEventListener('abort', abort);
  }
  return { client, lost, isLost: () => lostWith !== undefined, release };
}
