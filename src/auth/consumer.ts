// The consumer side of authentication: forge a key and a CSR, ask the provider's endpoint for an
// identity, and keep it as a kubeconfig Secret in the local tenant namespace. The private key is
// stored before the request (so a retry presents the same key) and never leaves this cluster.
import type { Logger } from '../adapters/log/index.js';
import type { CommandMetadata } from '../commands/command.js';
import type { HandledCommand } from '../commands/handle.js';
import type { OutgoingCommand } from '../commands/outgoing/commands.js';
import type { OutgoingState } from '../commands/outgoing/state.js';
import type { Actor } from '../events/catalogue.js';
import { PEERS_GROUP } from '../resources/constants.js';
import { identityUserFor } from '../resources/names.js';
import { AuthenticationFailedError, failureReasonOf } from './errors.js';
import { parseIdentityResponse, type ClusterIds, type IdentityRequest } from './protocol.js';

export interface LocalIdentity {
  readonly keyPem: string;
  readonly certPem?: string;
  readonly kubeconfig?: string;
  readonly caPem?: string;
}

export interface ProviderAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly fingerprint: string;
}

export interface ConsumerPorts {
  readonly ids: ClusterIds;
  loadOutgoing(remoteClusterId: string): Promise<OutgoingState>;
  handleOutgoing(remoteClusterId: string, command: OutgoingCommand): Promise<HandledCommand>;
  /** Creates (idempotently) the local tenant namespace of the remote; returns its name. */
  ensureLocalTenant(remoteClusterId: string): Promise<string>;
  readIdentity(namespace: string): Promise<LocalIdentity | undefined>;
  writeIdentity(namespace: string, remoteClusterId: string, identity: LocalIdentity): Promise<void>;
  newPrivateKey(): Promise<string>;
  createCsr(keyPem: string, subject: { commonName: string; organization: string }): Promise<{ pem: string; fingerprint: string; publicKeyFingerprint: string }>;
  inspectCertificate(pem: string): { commonName: string; fingerprint: string; publicKeyFingerprint: string; notAfter: string };
  /** GET /ids: who answers at that address, and its certificate's fingerprint. Throws ProviderUnreachable or FingerprintMismatch. */
  probe(authUrl: string, pin?: string): Promise<{ clusterId: string; fingerprint: string }>;
  /** Throws ProviderUnreachableError when the endpoint cannot be reached (or FingerprintMismatch). */
  postIdentity(authUrl: string, body: IdentityRequest, pin?: string): Promise<ProviderAnswer>;
  forgeKubeconfig(p: { cluster: string; server: string; caPem: string; user: string; certPem: string; keyPem: string; namespace: string }): string;
  now(): Date;
  newId(): string;
  readonly logger: Logger;
}

export interface PeeringTarget {
  readonly remoteClusterId: string;
  readonly remoteClusterName: string;
  readonly authUrl: string;
  /** Pinned SHA-256 fingerprint of the endpoint's certificate, if known. */
  readonly authFingerprint?: string;
  /** Told the fingerprint learned on first contact (no pin given), so later attempts can pin it. */
  readonly learned?: (fingerprint: string) => void;
}

export interface ObtainedIdentity {
  /** The provider's tenant namespace, where this cluster may write. */
  readonly tenantNamespace: string;
  /** The local namespace holding the identity Secret. */
  readonly localNamespace: string;
  readonly apiServerUrl: string;
  readonly certFingerprint: string;
  readonly notAfter: string;
  readonly kubeconfig: string;
  /** The endpoint's certificate fingerprint seen on this call (empty when nothing was called). */
  readonly authFingerprint: string;
  /** False when the identity was already held and nothing was asked of the provider. */
  readonly requested: boolean;
}

export async function obtainIdentity(
  ports: ConsumerPorts, target: PeeringTarget, token: string, context: { actor: Actor; correlationId: string },
): Promise<ObtainedIdentity> {
  const { remoteClusterId } = target;
  const log = ports.logger.child({ remoteClusterId, streamId: `outgoing-${remoteClusterId}` });
  const meta = (): CommandMetadata => ({ now: ports.now().toISOString(), actor: context.actor, correlationId: context.correlationId, commandId: ports.newId() });
  const handle = (command: Omit<OutgoingCommand, 'metadata'>) => ports.handleOutgoing(remoteClusterId, { ...command, metadata: meta() } as OutgoingCommand);

  // 1. The intent, recorded first: everything after it is an attempt to fulfil it.
  await handle({ type: 'RequestPeering', data: { remoteClusterId, remoteClusterName: target.remoteClusterName, authUrl: target.authUrl } });
  const localNamespace = await ports.ensureLocalTenant(remoteClusterId);
  const stored = await ports.readIdentity(localNamespace);

  // 2. Already authenticated and the kubeconfig at hand: nothing to ask.
  const state = await ports.loadOutgoing(remoteClusterId);
  if ('identity' in state && state.identity !== null && stored?.kubeconfig && stored.certPem) {
    const cert = ports.inspectCertificate(stored.certPem);
    if (cert.fingerprint === state.identity.certFingerprint) {
      return {
        tenantNamespace: state.identity.tenantNamespace, localNamespace, apiServerUrl: state.identity.apiServerUrl,
        certFingerprint: cert.fingerprint, notAfter: cert.notAfter, kubeconfig: stored.kubeconfig, authFingerprint: '', requested: false,
      };
    }
  }

  // 3. Who answers there, before anything is forged or sent. The token goes only to the certificate
  //    seen here (or the pinned one): an unreachable provider costs no new key, CSR or event.
  const fail = async (status: number | null, reason: ReturnType<typeof failureReasonOf> | 'Unreachable', error: Error): Promise<never> => {
    try {
      await handle({ type: 'RecordAuthenticationFailure', data: { reason, ...(status === null ? {} : { httpStatus: status }) } });
    } catch (recording) {
      log.error('the authentication failure could not be recorded', { error: recording });
    }
    log.warn('authentication failed', { reason, httpStatus: status, error: error.message });
    throw error;
  };
  let pin = target.authFingerprint;
  try {
    const ids = await ports.probe(target.authUrl, pin);
    if (ids.clusterId !== remoteClusterId) {
      return fail(200, 'InvalidResponse', new AuthenticationFailedError(target.authUrl, 200, 'InvalidResponse', 'ClusterIdMismatch',
        `the endpoint belongs to cluster ${ids.clusterId}, not ${remoteClusterId}`));
    }
    if (pin === undefined) {
      pin = ids.fingerprint;
      target.learned?.(pin);
    }
  } catch (e) {
    if ((e as { code?: string }).code === 'FingerprintMismatch') {
      return fail(null, 'InvalidResponse', new AuthenticationFailedError(target.authUrl, 0, 'FingerprintMismatch', 'FingerprintMismatch', (e as Error).message));
    }
    return fail(null, 'Unreachable', e as Error);
  }

  // 4. The key: the stored one if any, else a new one stored before it is used.
  let keyPem = stored?.keyPem;
  if (!keyPem) {
    keyPem = await ports.newPrivateKey();
    await ports.writeIdentity(localNamespace, remoteClusterId, { keyPem });
  }
  const commonName = identityUserFor(ports.ids.clusterId);
  const csr = await ports.createCsr(keyPem, { commonName, organization: PEERS_GROUP });
  await handle({ type: 'RequestIdentity', data: { publicKeyFingerprint: csr.publicKeyFingerprint, csrFingerprint: csr.fingerprint } });

  // 5. Ask. Every failure is recorded with the provider's reason before it reaches the caller.
  let answer: ProviderAnswer;
  try {
    answer = await ports.postIdentity(target.authUrl, {
      clusterId: ports.ids.clusterId, clusterName: ports.ids.clusterName, token, csr: csr.pem,
    }, pin);
  } catch (e) {
    if ((e as { code?: string }).code === 'FingerprintMismatch') {
      return fail(null, 'InvalidResponse', new AuthenticationFailedError(target.authUrl, 0, 'FingerprintMismatch', 'FingerprintMismatch', (e as Error).message));
    }
    return fail(null, 'Unreachable', e as Error);
  }
  if (answer.status !== 200) {
    const err = (answer.body as { error?: { code?: string; reason?: string; message?: string } })?.error ?? {};
    return fail(answer.status, failureReasonOf(answer.status), new AuthenticationFailedError(
      target.authUrl, answer.status, err.code ?? 'Unknown', err.reason ?? 'unknown', (err.message ?? String(answer.body)).slice(0, 500)));
  }

  // 6. Check what came back: a certificate for our key and our name, from the cluster we meant.
  let response;
  try {
    response = parseIdentityResponse(answer.body);
    if (response.clusterId !== remoteClusterId) throw new Error(`the endpoint belongs to cluster ${response.clusterId}, not ${remoteClusterId}`);
    const cert = ports.inspectCertificate(response.certificate);
    if (cert.publicKeyFingerprint !== csr.publicKeyFingerprint) throw new Error('the certificate is not for the key this cluster sent');
    if (cert.commonName !== commonName) throw new Error(`the certificate names ${cert.commonName}, not ${commonName}`);
  } catch (e) {
    return fail(200, 'InvalidResponse', new AuthenticationFailedError(target.authUrl, 200, 'InvalidResponse', 'InvalidResponse', (e as Error).message));
  }
  const cert = ports.inspectCertificate(response.certificate);
  const kubeconfig = ports.forgeKubeconfig({
    cluster: target.remoteClusterName, server: response.apiServerUrl, caPem: response.caBundle, user: commonName,
    certPem: response.certificate, keyPem, namespace: response.tenantNamespace,
  });
  // 7. The Secret before the event: once CertIssued is in the log, the kubeconfig exists.
  await ports.writeIdentity(localNamespace, remoteClusterId, { keyPem, certPem: response.certificate, kubeconfig, caPem: response.caBundle });
  await handle({
    type: 'RecordCertificate',
    data: { certFingerprint: cert.fingerprint, notAfter: cert.notAfter, tenantNamespace: response.tenantNamespace, apiServerUrl: response.apiServerUrl },
  });
  log.info('identity obtained', { certFingerprint: cert.fingerprint, notAfter: cert.notAfter, tenantNamespace: response.tenantNamespace });
  return {
    tenantNamespace: response.tenantNamespace, localNamespace, apiServerUrl: response.apiServerUrl, certFingerprint: cert.fingerprint,
    notAfter: cert.notAfter, kubeconfig, authFingerprint: answer.fingerprint, requested: true,
  };
}
