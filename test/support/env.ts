// What integration tests need from the local stack (the runner exports `npm run stack:env`).
import { randomBytes } from 'node:crypto';

export interface StackEnv {
  readonly kafkaBrokers: string[];
  readonly databaseUrl: string;
  readonly kubectl: string;
  readonly clusters: Readonly<Record<'alpha' | 'beta', { kubeconfig: string; caCert: string; caKey: string; clusterId: string; authPort: number }>>;
}

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run integration tests through \`npm test\` (or export the lines of \`npm run stack:env\`)`);
  return v;
}

export function stackEnv(): StackEnv {
  const cluster = (p: string) => ({
    kubeconfig: need(`${p}_KUBECONFIG`), caCert: need(`${p}_CA_CERT`), caKey: need(`${p}_CA_KEY`),
    clusterId: need(`${p}_CLUSTER_ID`), authPort: Number(need(`${p}_AUTH_PORT`)),
  });
  return {
    kafkaBrokers: need('KAFKA_BROKERS').split(','),
    databaseUrl: need('DATABASE_URL'),
    kubectl: need('KUBECTL'),
    clusters: { alpha: cluster('ALPHA'), beta: cluster('BETA') },
  };
}

/** A lowercase name unique to this run, usable as a topic, schema or namespace name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function uniqueSchema(prefix: string): string {
  return uniqueName(prefix).replace(/-/g, '_');
}

/** Polls until `check` returns a value other than undefined; fails with `what` on timeout. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: last error ${(last as Error).message}` : ''}`);
}
