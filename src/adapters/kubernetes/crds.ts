// Installs CRDs (peerlog's by default; idempotent server-side apply) and waits until the API serves them.
import { PEERLOG_CRDS } from '../../resources/crds.js';
import type { KubeClient, KubeObject } from './client.js';
import { KubernetesError } from './client.js';

interface Crd extends KubeObject {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export async function installCrds(kube: KubeClient, timeoutMs = 30_000, crds: readonly Record<string, unknown>[] = PEERLOG_CRDS): Promise<readonly string[]> {
  const names: string[] = [];
  for (const crd of crds) {
    const applied = await kube.apply(crd as KubeObject);
    names.push(applied.metadata!.name!);
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      const crd = await kube.get<Crd>('apiextensions.k8s.io/v1', 'CustomResourceDefinition', name);
      const established = crd?.status?.conditions?.find((c) => c.type === 'Established');
      if (established?.status === 'True') break;
      const refused = crd?.status?.conditions?.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
      if (refused) throw new KubernetesError(422, refused.reason ?? 'NamesNotAccepted', `CRD ${name}: ${refused.message ?? 'names not accepted'}`);
      if (Date.now() > deadline) throw new KubernetesError(0, 'Timeout', `CRD ${name} was not established within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  return names;
}
