// Signing through the Kubernetes CSR API (certificates.k8s.io/v1): create the
// CertificateSigningRequest peerlog forged, approve it (peerlog's own policy has been checked by
// then), wait for the signer's certificate within a deadline, and delete the object whatever
// happened. The provider needs, cluster-wide:
//   certificates.k8s.io certificatesigningrequests: create, get, delete, list (the sweep at start)
//   certificates.k8s.io certificatesigningrequests/approval: update
//   certificates.k8s.io signers, resourceName <signerName> (kubernetes.io/kube-apiserver-client): approve
import { setTimeout as sleep } from 'node:timers/promises';
import { PeerlogError, TimeoutError } from '../../errors.js';
import type { KubeClient, KubeObject } from './client.js';
import { KubernetesError } from './client.js';

const CSR_API = 'certificates.k8s.io/v1';
const CSR_KIND = 'CertificateSigningRequest';
const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

interface CsrObject extends KubeObject {
  metadata: { name: string; uid?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec: { request: string; signerName: string; expirationSeconds?: number; usages?: string[] };
  status?: { certificate?: string; conditions?: { type: string; status: string; reason?: string; message?: string; lastUpdateTime?: string }[] };
}

/** The signer refused the request (a Denied or Failed condition): not worth the same request again. */
export class CsrRefusedError extends PeerlogError {
  constructor(name: string, condition: { type: string; reason?: string; message?: string }) {
    super('CsrRefused', `CertificateSigningRequest ${name} was ${condition.type === 'Denied' ? 'denied' : 'refused by its signer'}: ${condition.reason ?? condition.type}${condition.message ? `: ${condition.message}` : ''}`);
  }
}

export interface CsrSigningOptions {
  /** The request as forged (metadata.name deterministic). */
  readonly csr: Record<string, unknown>;
  /** The Approved condition to set. */
  readonly approval: Record<string, unknown>;
  /** How long the signer has to answer once approved. */
  readonly deadlineMs: number;
  readonly pollMs?: number;
}

/** The signed certificate (PEM) of the request, which is gone from the cluster when this returns or throws. */
export async function signWithCsrApi(kube: KubeClient, o: CsrSigningOptions): Promise<string> {
  const forged = o.csr as CsrObject;
  const name = forged.metadata.name;
  try {
    // 1. Create, or re-find the one a crashed attempt left under the same name. One for another
    //    request or signer cannot be under this name (it is derived from the CSR), unless someone
    //    else made it: then it is replaced.
    let current = await kube.get<CsrObject>(CSR_API, CSR_KIND, name);
    if (current && (current.spec.request !== forged.spec.request || current.spec.signerName !== forged.spec.signerName || refusal(current))) {
      await kube.delete(CSR_API, CSR_KIND, name);
      await untilGone(kube, name, o.deadlineMs);
      current = undefined;
    }
    if (!current) {
      try {
        current = await kube.create<CsrObject>(forged as CsrObject);
      } catch (e) {
        if (!(e instanceof KubernetesError && e.status === 409)) throw e;
        current = await kube.get<CsrObject>(CSR_API, CSR_KIND, name);
        if (!current) throw e;
      }
    }
    // 2. Approve (unless a previous attempt did).
    if (!current.status?.conditions?.some((c) => c.type === 'Approved' && c.status === 'True')) {
      // The whole object as read, conditions added: an update of /approval takes its metadata from
      // the body, so one without the labels would strip them (and leftovers could not be found).
      await kube.request('PUT', `${CSR_PATH}/${encodeURIComponent(name)}/approval`, {
        ...current, apiVersion: CSR_API, kind: CSR_KIND,
        status: { ...current.status, conditions: [...(current.status?.conditions ?? []), o.approval] },
      });
    }
    // 3. The signer's answer, within the deadline.
    const deadline = Date.now() + o.deadlineMs;
    for (;;) {
      const seen = await kube.get<CsrObject>(CSR_API, CSR_KIND, name);
      if (!seen) throw new PeerlogError('CsrVanished', `CertificateSigningRequest ${name} was deleted before it was signed`, { retriable: true });
      const refused = refusal(seen);
      if (refused) throw new CsrRefusedError(name, refused);
      if (seen.status?.certificate) return Buffer.from(seen.status.certificate, 'base64').toString('utf8');
      if (Date.now() >= deadline) {
        throw new TimeoutError('CsrNotSigned',
          `CertificateSigningRequest ${name} (signer ${forged.spec.signerName}) was approved but not signed within ${o.deadlineMs} ms: ` +
          'is a signer running for it (kube-controller-manager with --cluster-signing-cert-file/--cluster-signing-key-file, or --cluster-signing-kube-apiserver-client-cert-file/-key-file)?',
          { retriable: true });
      }
      await sleep(Math.min(o.pollMs ?? 200, Math.max(deadline - Date.now(), 1)));
    }
  } finally {
    // 4. Never left behind: the certificate is in hand (or the attempt failed), the object has done its job.
    await kube.delete(CSR_API, CSR_KIND, name).catch(() => undefined);
  }
}

/**
 * Deletes the CertificateSigningRequests this control plane made (by its `clusterIdLabel`) that are
 * older than `olderThanMs`: what a process killed while it signed left behind (a consumer's retry
 * comes with a new CSR, so under another name). Younger ones may be another replica's in flight.
 * Returns the names deleted.
 */
export async function sweepLeftoverCsrs(kube: KubeClient, selector: string, olderThanMs: number, now: Date = new Date()): Promise<string[]> {
  const list = await kube.request<{ items: CsrObject[] }>('GET', `${CSR_PATH}?labelSelector=${encodeURIComponent(selector)}`);
  const old = list.items.filter((c) => now.getTime() - new Date((c.metadata as { creationTimestamp?: string }).creationTimestamp ?? now).getTime() >= olderThanMs);
  for (const c of old) await kube.delete(CSR_API, CSR_KIND, c.metadata.name);
  return old.map((c) => c.metadata.name);
}

function refusal(csr: CsrObject): { type: string; reason?: string; message?: string } | undefined {
  return csr.status?.conditions?.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
}

async function untilGone(kube: KubeClient, name: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (await kube.get(CSR_API, CSR_KIND, name)) {
    if (Date.now() >= deadline) throw new TimeoutError('CsrNotDeleted', `CertificateSigningRequest ${name} is still there ${ms} ms after its deletion`, { retriable: true });
    await sleep(100);
  }
}
