// Run as a child process by the hostile-provider test: asks a hostile endpoint as the consumer would
// (the identity request, or the bounded client to a remote kube-apiserver), samples its own RSS,
// and prints one JSON line: how it ended and the largest RSS seen.
import { readFileSync } from 'node:fs';

const [mode, url, caFile] = process.argv.slice(2) as [string, string, string];
let maxRss = process.memoryUsage().rss;
const sampler = setInterval(() => { maxRss = Math.max(maxRss, process.memoryUsage().rss); }, 50);
const started = Date.now();

async function run(): Promise<void> {
  if (mode === 'identity') {
    const { postIdentityRequest } = await import('../../src/adapters/http/auth-client.js');
    await postIdentityRequest(url, { clusterId: 'alpha', clusterName: 'alpha', token: 'x'.repeat(43), csr: '-----BEGIN CERTIFICATE REQUEST-----' }, undefined, 60_000);
  } else {
    const { createKubeClient } = await import('../../src/adapters/kubernetes/client.js');
    const { kubeConfigFromParts } = await import('../../src/adapters/kubernetes/kubeconfig.js');
    const { REMOTE_MAX_RESPONSE_BYTES } = await import('../../src/auth/wire.js');
    const caPem = readFileSync(caFile, 'utf8');
    const client = createKubeClient(kubeConfigFromParts({ cluster: 'x', server: url, caPem, user: 'u', certPem: caPem, keyPem: readFileSync(`${caFile}.key`, 'utf8') }),
      { maxResponseBytes: REMOTE_MAX_RESPONSE_BYTES, deadlineMs: 60_000 });
    const path = '/apis/peering.peerlog.dev/v1alpha1/namespaces/t/resourceoffers';
    if (mode === 'watch') {
      // The offer watch as the consumer opens it: the list is answered, the watch streams.
      const informer = client.informer(path);
      await new Promise<void>((resolve, reject) => {
        informer.on('error', (e: unknown) => { void informer.stop(); reject(e as Error); });
        informer.start().catch(reject);
        setTimeout(resolve, 50_000);
      });
      return;
    }
    await client.request('GET', path);
  }
}

run().then(
  () => ({ outcome: 'answered' }),
  (e: unknown) => ({ outcome: 'error', code: (e as { code?: string }).code, message: (e as Error).message }),
).then((r) => {
  clearInterval(sampler);
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
  process.stdout.write(`${JSON.stringify({ ...r, maxRss, ms: Date.now() - started })}\n`);
  process.exit(0);
});
