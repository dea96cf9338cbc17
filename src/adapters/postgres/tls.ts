// TLS to PostgreSQL from the database URL's sslmode and sslrootcert, with libpq's meaning of each
// mode: the driver's own reading of these differs (it treats require as verify-full and reads
// files itself), so they are taken out of the URL and turned into an explicit `ssl` option here.
import { readFileSync } from 'node:fs';
import { ValidationError } from '../../errors.js';

/** What pg (and typeorm's postgres driver) is given: the URL without its TLS parameters, and `ssl`. */
export interface PgConnection {
  readonly connectionString: string;
  readonly ssl: false | PgTls;
}

/** The node:tls options peerlog sets for PostgreSQL. */
export interface PgTls {
  readonly ca?: string;
  readonly rejectUnauthorized: boolean;
  readonly checkServerIdentity?: () => undefined;
}

const TLS_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'uselibpqcompat', 'sslnegotiation'];

export function pgConnection(url: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): PgConnection {
  let u: URL;
  try { u = new URL(url); } catch { throw new ValidationError('setting database-url: not a URL', { field: 'database-url', code: 'InvalidSetting' }); }
  const mode = u.searchParams.get('sslmode') ?? 'disable';
  const caFile = u.searchParams.get('sslrootcert') ?? undefined;
  if (!TLS_PARAMS.some((p) => u.searchParams.has(p))) return { connectionString: url, ssl: false };
  for (const p of TLS_PARAMS) u.searchParams.delete(p);
  const connectionString = u.toString();
  let ca: string | undefined;
  if (caFile !== undefined) {
    try { ca = read(caFile); } catch (e) {
      throw new ValidationError(`setting database-ca: cannot read ${caFile}: ${(e as Error).message}`, { field: 'database-ca', code: 'InvalidSetting', cause: e });
    }
  }
  // verify-ca: the chain is checked, the host name is not (libpq's meaning).
  const chainOnly = { checkServerIdentity: () => undefined };
  switch (mode) {
    case 'disable': return { connectionString, ssl: false };
    // require with a CA is verify-ca, as in libpq; without one, encryption alone.
    case 'require': return { connectionString, ssl: ca !== undefined ? { ca, rejectUnauthorized: true, ...chainOnly } : { rejectUnauthorized: false } };
    case 'verify-ca': return { connectionString, ssl: { ...(ca !== undefined ? { ca } : {}), rejectUnauthorized: true, ...chainOnly } };
    case 'verify-full': return { connectionString, ssl: { ...(ca !== undefined ? { ca } : {}), rejectUnauthorized: true } };
    default: throw new ValidationError(`setting database-sslmode: ${JSON.stringify(mode)} is not one of disable, require, verify-ca, verify-full`, { field: 'database-sslmode', code: 'InvalidSetting' });
  }
}
