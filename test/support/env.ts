// What integration tests need from the local stack (the runner exports `npm run stack:env`).
import { spawnSync } from 'node:child_process';
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

// Tried in a child process, so that it can be called where no await fits: random ports below the
// local stack's and the kernel's ephemeral range (which outgoing connections take from), until one binds.
const FREE_PORT_SCRIPT = `
const net = require('node:net');
const tryOne = (n) => {
  if (n === 0) { process.exit(1); }
  const port = 20000 + Math.floor(Math.random() * 4000);
  const s = net.createServer();
  s.once('error', () => tryOne(n - 1));
  s.listen(port, '127.0.0.1', () => { s.close(() => { process.stdout.write(String(port)); }); });
};
tryOne(50);`;

/** A TCP port on 127.0.0.1 nothing listens on now, for a server a test gives a fixed port. */
export function freePort(): number {
  const r = spawnSync(process.execPath, ['-e', FREE_PORT_SCRIPT], { encoding: 'utf8', timeout: 10_000 });
  const port = Number(r.stdout);
  if (r.status !== 0 || !Number.isInteger(port) || port <= 0) throw new Error(`no free port found: ${r.stderr}`);
  return port;
}
