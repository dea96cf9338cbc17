// The provider side of authentication: check the token, check the CSR against the policy, sign a
// certificate the local kube-apiserver accepts, grant it its tenant namespace, and record it all as
// commands on the stream incoming-<consumerId>. Every effect goes through the ports below.
// Each certificate signed opens a new identity lifetime, named in its CN (identityUserFor) and read
// from the log (nextLifetime); RBAC is granted to it before it is handed out, and the replication
// projection narrows RBAC to the current lifetime's user once the log records it.
import type { Logger } from '../adapters/log/index.js';
import type { HandledCommand } from '../commands/handle.js';
import type { IncomingCommand } from '../commands/incoming/commands.js';
import type { IncomingState } from '../commands/incoming/state.js';
import { nextLifetime } from '../commands/incoming/decider.js';
import { ConflictError, InternalError, InvalidTransitionError, ValidationError } from '../errors.js';
import type { CommandMetadata } from '../commands/command.js';
import type { CertificateSigner } from '../events/catalogue.js';
import { PEERS_GROUP } from '../resources/constants.js';
import { identityUserFor } from '../resources/names.js';
import { AuthRefusal } from './errors.js';
import { checkCsr, type CsrFacts, type CsrPolicy } from './policy.js';
import type { ClusterIds, IdentityRequest, IdentityResponse } from './protocol.js';
import { DEFAULT_RENEW_FRACTION, renewalStatement } from './renewal.js';
import { checkToken } from './token.js';
import { withdrawalStatement, type WithdrawalAnswer, type WithdrawalRequest } from './withdrawal.js';

export interface ParsedCsr extends CsrFacts {
  readonly publicKeyFingerprint: string;
  readonly publicKeyDer: ArrayBuffer;
}

export interface SignedCertificate {
  readonly pem: string;
  readonly fingerprint: string;
  readonly serialNumber: string;
  readonly notAfter: string;
}

/** What a certificate is signed for; the CSR as it came along, for a signer that takes the CSR itself. */
export interface SigningRequest {
  readonly commonName: string;
  readonly organization: string;
  readonly publicKeyDer: ArrayBuffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly csrPem: string;
  readonly validitySeconds: number;
  readonly remoteClusterId: string;
  readonly lifetime: number;
}

export interface StoredCertificate {
  readonly certFingerprint: string;
  readonly remoteClusterId: string;
  readonly publicKeyFingerprint: string;
  readonly serialNumber: string;
  readonly notAfter: string;
  readonly pem: string;
}

export interface ProviderPorts {
  readonly ids: ClusterIds;
  readonly policy: CsrPolicy;
  /**
   * What signs: `ca-key` (the client CA's key, held here; the certificate is built from scratch) or
   * `csr-api` (the Kubernetes CSR API, which copies the CSR's subject: the CSR must then carry the
   * CN of the lifetime it opens, which the provider names in a SubjectRequired answer).
   */
  readonly signer: CertificateSigner;
  readonly apiServer: { readonly url: string; readonly caPem: string };
  readToken(): Promise<string | undefined>;
  /** False when this cluster refuses incoming peerings from that cluster (its ForeignCluster says Disabled). */
  incomingAllowed(clusterId: string): boolean;
  /** Throws on anything that is not a PEM CSR. */
  parseCsr(pem: string): Promise<ParsedCsr>;
  sign(req: SigningRequest): Promise<SignedCertificate>;
  loadIncoming(remoteClusterId: string): Promise<IncomingState>;
  handleIncoming(remoteClusterId: string, command: IncomingCommand): Promise<HandledCommand>;
  saveCertificate(cert: StoredCertificate): Promise<void>;
  findCertificate(certFingerprint: string): Promise<StoredCertificate | undefined>;
  /** Whether `signature` (base64) over `statement` verifies with the public key of `certPem`. */
  verifyProof(certPem: string, statement: string, signature: string): boolean;
  /** Creates (idempotently) the tenant namespace, quota, Role and a RoleBinding to `users`; returns the namespace. */
  ensureTenant(remoteClusterId: string, users: readonly string[]): Promise<string>;
  /** Binds `users` in offloaded namespaces made for that consumer (their RoleBinding, applied again). */
  bindOffloading(remoteClusterId: string, remoteNamespaces: readonly string[], users: readonly string[]): Promise<void>;
  now(): Date;
  newId(): string;
  readonly logger: Logger;
}

/**
 * Certificates are backdated a little so that a consumer whose clock lags can use them at once; by
 * a tenth of their validity at most, so that a short-lived one still renews at a third of its life.
 */
const CLOCK_SKEW_MS = 5 * 60_000;
const backdateMs = (validitySeconds: number) => Math.min(CLOCK_SKEW_MS, validitySeconds * 100);

function metadata(ports: ProviderPorts, req: IdentityRequest, correlationId: string): CommandMetadata {
  return { now: ports.now().toISOString(), actor: { kind: 'remote-cluster', name: req.clusterId }, correlationId, commandId: ports.newId() };
}

/** Bad-token attempts not recorded in the log (no stream for that id), per endpoint: one number each. */
const unrecorded = new WeakMap<ProviderPorts, number>();
function countUnrecorded(ports: ProviderPorts): number {
  const n = (unrecorded.get(ports) ?? 0) + 1;
  unrecorded.set(ports, n);
  return n;
}

/** Domain refusals become the endpoint's answers; anything else is a server fault and propagates. */
function translate(e: unknown): never {
  if (e instanceof ConflictError || e instanceof InvalidTransitionError) {
    throw new AuthRefusal('IdentityConflict', e.code, e.message);
  }
  if (e instanceof ValidationError) throw new AuthRefusal('MalformedRequest', e.field ?? 'request', e.message);
  throw e;
}

export async function issueIdentity(ports: ProviderPorts, req: IdentityRequest): Promise<IdentityResponse> {
  const log = ports.logger.child({ remoteClusterId: req.clusterId, streamId: `incoming-${req.clusterId}` });
  const correlationId = ports.newId();

  // 1. The CSR must at least parse before anything is recorded: garbage is not an attempt.
  let csr: ParsedCsr;
  try {
    csr = await ports.parseCsr(req.csr);
  } catch {
    throw new AuthRefusal('MalformedRequest', 'csr', 'csr: not a parseable PEM PKCS#10 certificate request');
  }

  // A renewal is authenticated by the current identity, not by the token (DESIGN §6).
  if (req.renewal) return renewIdentity(ports, req, csr, correlationId);

  // 2. The token. A missing secret means no token was ever created here: nothing can match.
  const expected = await ports.readToken();
  const rejection = expected === undefined ? 'TokenMismatch' : checkToken(req.token, expected);
  if (rejection !== null) {
    // Audited on the stream of a cluster this one already knows; a stranger's attempt (any id
    // an unauthenticated caller picks) creates no stream: it is counted and logged, nothing more.
    if ((await ports.loadIncoming(req.clusterId)).status === 'empty') {
      log.warn('token rejected for a cluster with no peering; not recorded', { reason: rejection, unrecordedRejections: countUnrecorded(ports) });
    } else {
      await ports.handleIncoming(req.clusterId, {
        type: 'ValidateToken', data: { remoteClusterId: req.clusterId, remoteClusterName: req.clusterName, outcome: 'invalid', reason: rejection },
        metadata: metadata(ports, req, correlationId),
      }).catch(translate);
      log.warn('token rejected', { reason: rejection });
    }
    throw new AuthRefusal('TokenRejected', rejection, 'the peering token is not valid for this cluster');
  }
  await ports.handleIncoming(req.clusterId, {
    type: 'ValidateToken', data: { remoteClusterId: req.clusterId, remoteClusterName: req.clusterName, outcome: 'valid' },
    metadata: metadata(ports, req, correlationId),
  }).catch(translate);

  // 3. This cluster's own will: incoming peering from that cluster may be disabled.
  if (!ports.incomingAllowed(req.clusterId)) {
    log.warn('incoming peering disabled for this cluster');
    throw new AuthRefusal('PolicyRefused', 'IncomingDisabled', `cluster ${ports.ids.clusterId} does not accept incoming peerings from ${req.clusterId} (its ForeignCluster has incoming: Disabled)`);
  }

  // 4. The CSR policy (with the CN of the lifetime a certificate would open, where the signer copies it).
  const state = await ports.loadIncoming(req.clusterId);
  const verdict = checkCsr(csr, req.clusterId, req.validitySeconds, ports.policy, { commonNames: requiredCommonNames(ports, req.clusterId, state) });
  if (!verdict.allowed) {
    log.warn('CSR refused', { reason: verdict.reason });
    throw new AuthRefusal('PolicyRefused', verdict.reason, verdict.message);
  }

  // 5. An identity already granted: the same key gets the same certificate back, another key a 409.
  const granted = 'identity' in state ? state.identity : null;
  if (granted !== null) {
    if (granted.publicKeyFingerprint !== csr.publicKeyFingerprint) {
      throw new AuthRefusal('IdentityConflict', 'IdentityConflict',
        `cluster ${req.clusterId} already holds an identity for another key; unpeer first or present the same key`);
    }
    const stored = await ports.findCertificate(granted.certFingerprint);
    if (!stored || !('identity' in state)) throw new InternalError('CertificateNotStored', `the certificate ${granted.certFingerprint} named by the log is not stored`);
    // Never an expired or nearly expired certificate: the same key (its CSR proves possession)
    // gets a fresh one, recorded as a renewal.
    if (isFresh(stored.notAfter, verdict.validitySeconds, ports.now())) {
      const tenantNamespace = await ports.ensureTenant(req.clusterId, [identityUserFor(req.clusterId, granted.lifetime)]);
      log.info('identity re-sent for the same key', { certFingerprint: stored.certFingerprint });
      return answer(ports, stored.pem, tenantNamespace, stored.notAfter);
    }
    return signRenewal(ports, req, csr, state, stored, verdict.validitySeconds, correlationId);
  }
  requireSubject(ports, req.clusterId, csr, state);

  // 6. Tenant first, bound to the user of the lifetime this certificate opens, so that the
  //    certificate works the moment the consumer holds it (and no earlier certificate does).
  const lifetime = nextLifetime(state);
  const user = identityUserFor(req.clusterId, lifetime);
  //    The certificate is signed meanwhile (nothing sees it before the tenant is there), and
  //    dropped if the tenant cannot be made.
  const now = ports.now();
  const signing = ports.sign({
    commonName: user, organization: PEERS_GROUP, publicKeyDer: csr.publicKeyDer,
    notBefore: new Date(now.getTime() - backdateMs(verdict.validitySeconds)), notAfter: new Date(now.getTime() + verdict.validitySeconds * 1000),
    csrPem: req.csr, validitySeconds: verdict.validitySeconds, remoteClusterId: req.clusterId, lifetime,
  });
  const [tenant, signed] = await Promise.allSettled([ports.ensureTenant(req.clusterId, [user]), signing]);
  if (tenant.status === 'rejected') throw tenant.reason;
  if (signed.status === 'rejected') throw signed.reason;
  const tenantNamespace = tenant.value;
  const cert = signed.value;
  // 7. Stored before the log names it, so that every certificate in the log can be sent again.
  await ports.saveCertificate({
    certFingerprint: cert.fingerprint, remoteClusterId: req.clusterId, publicKeyFingerprint: csr.publicKeyFingerprint,
    serialNumber: cert.serialNumber, notAfter: cert.notAfter, pem: cert.pem,
  });
  const handled = await ports.handleIncoming(req.clusterId, {
    type: 'IssueCertificate',
    data: { publicKeyFingerprint: csr.publicKeyFingerprint, certFingerprint: cert.fingerprint, serialNumber: cert.serialNumber, notAfter: cert.notAfter, tenantNamespace, lifetime, signer: ports.signer },
    metadata: metadata(ports, req, correlationId),
  }).catch(translate);
  if (handled.events.length === 0) {
    // A concurrent request with the same key won the race: answer with the certificate it recorded.
    const current = await ports.loadIncoming(req.clusterId);
    const winner = 'identity' in current ? await ports.findCertificate(current.identity.certFingerprint) : undefined;
    if (winner) return answer(ports, winner.pem, tenantNamespace, winner.notAfter);
  }
  log.info('identity issued', { certFingerprint: cert.fingerprint, serialNumber: cert.serialNumber, notAfter: cert.notAfter, tenantNamespace, lifetime, signer: ports.signer });
  return answer(ports, cert.pem, tenantNamespace, cert.notAfter);
}

/** The CN a CSR may carry besides the plain name: where the signer copies it, the next lifetime's user. */
function requiredCommonNames(ports: ProviderPorts, clusterId: string, state: IncomingState): readonly string[] {
  return ports.signer === 'csr-api' ? [identityUserFor(clusterId, nextLifetime(state))] : [];
}

/**
 * Signing through the Kubernetes CSR API, the certificate's subject is the CSR's: the CSR must name
 * the user of the lifetime the certificate opens. A CSR with the plain name (all a consumer can know
 * at first) is answered 409 SubjectRequired with that CN, and the consumer asks again with a CSR
 * for the same key that carries it. The provider still chooses the subject; the CSR only repeats it.
 */
function requireSubject(ports: ProviderPorts, clusterId: string, csr: ParsedCsr, state: IncomingState): void {
  if (ports.signer !== 'csr-api') return;
  const required = identityUserFor(clusterId, nextLifetime(state));
  const cn = csr.subjectAttributes.find(([t]) => t === 'CN')?.[1];
  if (cn !== required) {
    throw new AuthRefusal('SubjectRequired', 'CommonNameRequired', `this cluster signs through the Kubernetes CSR API, which keeps the CSR's subject: send a CSR for the same key with CN=${required}, O=${PEERS_GROUP}`, required);
  }
}

/** More than the renewal share of its validity left: worth sending again as it is. */
function isFresh(notAfter: string, validitySeconds: number, now: Date): boolean {
  return new Date(notAfter).getTime() - now.getTime() > validitySeconds * 1000 * DEFAULT_RENEW_FRACTION;
}

/**
 * A new key for a standing identity, asked by the consumer with a statement signed by the key of
 * its current, unexpired certificate. The token plays no part: possession of the current identity
 * is what lets a key replace it, and a token alone can never replace an identity.
 */
async function renewIdentity(ports: ProviderPorts, req: IdentityRequest, csr: ParsedCsr, correlationId: string): Promise<IdentityResponse> {
  const log = ports.logger.child({ remoteClusterId: req.clusterId, streamId: `incoming-${req.clusterId}` });
  const proof = req.renewal!;
  if (!ports.incomingAllowed(req.clusterId)) {
    throw new AuthRefusal('PolicyRefused', 'IncomingDisabled', `cluster ${ports.ids.clusterId} does not accept incoming peerings from ${req.clusterId} (its ForeignCluster has incoming: Disabled)`);
  }
  const state = await ports.loadIncoming(req.clusterId);
  if (state.status !== 'authenticated' && state.status !== 'resourcesRequested' && state.status !== 'offered') {
    throw new AuthRefusal('IdentityConflict', 'NoIdentityToRenew', `cluster ${req.clusterId} holds no identity here to renew; peer with a token`);
  }
  const granted = state.identity;
  const current = await ports.findCertificate(granted.certFingerprint);
  if (!current) throw new InternalError('CertificateNotStored', `the certificate ${granted.certFingerprint} named by the log is not stored`);
  const verdict = checkCsr(csr, req.clusterId, req.validitySeconds, ports.policy, { commonNames: requiredCommonNames(ports, req.clusterId, state) });
  if (!verdict.allowed) {
    log.warn('renewal CSR refused', { reason: verdict.reason });
    throw new AuthRefusal('PolicyRefused', verdict.reason, verdict.message);
  }
  // A repeat of a renewal that already went through (its answer was lost): the key is current now,
  // and the CSR's signature (checked by the policy) proves its holder. Nothing is written for it.
  if (csr.publicKeyFingerprint === granted.publicKeyFingerprint && isFresh(current.notAfter, verdict.validitySeconds, ports.now())) {
    return answer(ports, current.pem, granted.tenantNamespace, current.notAfter);
  }
  if (proof.certFingerprint !== granted.certFingerprint) {
    throw new AuthRefusal('IdentityConflict', 'NotCurrentIdentity', 'the renewal is signed for a certificate that is not the current identity of this cluster');
  }
  const statement = renewalStatement({ providerClusterId: ports.ids.clusterId, consumerClusterId: req.clusterId, certFingerprint: proof.certFingerprint, csrPem: req.csr });
  if (!ports.verifyProof(current.pem, statement, proof.signature)) {
    log.warn('renewal proof refused', { certFingerprint: current.certFingerprint });
    throw new AuthRefusal('PolicyRefused', 'RenewalProofInvalid', 'the renewal is not signed by the key of the current certificate');
  }
  if (new Date(current.notAfter).getTime() <= ports.now().getTime()) {
    throw new AuthRefusal('PolicyRefused', 'IdentityExpired', `the current certificate expired at ${current.notAfter}; an expired identity cannot renew itself`);
  }
  // A new key while more than half of the certificate's validity remains is not a renewal the
  // consumer needs (it renews in the last third): refused, so that a peer cannot make the provider
  // sign, store and record certificates without end.
  // (The asked validity counts only up to the policy's default, so asking a long one cannot stretch this.)
  if (new Date(current.notAfter).getTime() - ports.now().getTime() > Math.min(verdict.validitySeconds, ports.policy.defaultValiditySeconds) * 1000 / 2) {
    throw new AuthRefusal('IdentityConflict', 'RenewalNotDue', `the current certificate is valid until ${current.notAfter}; renew it in the last third of its validity`);
  }
  // Only now, with the proof checked, is RBAC (re)applied.
  return signRenewal(ports, req, csr, state, current, verdict.validitySeconds, correlationId);
}

/**
 * A new certificate for a standing identity, opening the next lifetime. Its user is bound beside
 * the current one before it is signed, in the tenant namespace and every offloaded namespace made,
 * so that the consumer's switch to it (once it holds the answer) is never refused; the replication
 * projection unbinds the current one as soon as the log records the renewal, and from then on the
 * replaced certificate gets 403 everywhere, expired or not.
 */
async function signRenewal(
  ports: ProviderPorts, req: IdentityRequest, csr: ParsedCsr, state: Extract<IncomingState, { identity: unknown }>, previous: StoredCertificate,
  validitySeconds: number, correlationId: string,
): Promise<IdentityResponse> {
  const log = ports.logger.child({ remoteClusterId: req.clusterId, streamId: `incoming-${req.clusterId}` });
  requireSubject(ports, req.clusterId, csr, state);
  const lifetime = nextLifetime(state);
  const user = identityUserFor(req.clusterId, lifetime);
  const both = [identityUserFor(req.clusterId, state.identity.lifetime), user];
  const tenantNamespace = await ports.ensureTenant(req.clusterId, both);
  const made = Object.values(state.namespaces ?? {}).filter((n) => n.phase === 'Created').map((n) => n.remoteNamespace);
  if (made.length > 0) await ports.bindOffloading(req.clusterId, made, both);
  const now = ports.now();
  const cert = await ports.sign({
    commonName: user, organization: PEERS_GROUP, publicKeyDer: csr.publicKeyDer,
    notBefore: new Date(now.getTime() - backdateMs(validitySeconds)), notAfter: new Date(now.getTime() + validitySeconds * 1000),
    csrPem: req.csr, validitySeconds, remoteClusterId: req.clusterId, lifetime,
  });
  await ports.saveCertificate({
    certFingerprint: cert.fingerprint, remoteClusterId: req.clusterId, publicKeyFingerprint: csr.publicKeyFingerprint,
    serialNumber: cert.serialNumber, notAfter: cert.notAfter, pem: cert.pem,
  });
  await ports.handleIncoming(req.clusterId, {
    type: 'RenewCertificate',
    data: { previousCertFingerprint: previous.certFingerprint, publicKeyFingerprint: csr.publicKeyFingerprint, certFingerprint: cert.fingerprint, serialNumber: cert.serialNumber, notAfter: cert.notAfter, lifetime, signer: ports.signer },
    metadata: metadata(ports, req, correlationId),
  }).catch(translate);
  log.info('identity renewed', { previousCertFingerprint: previous.certFingerprint, certFingerprint: cert.fingerprint, serialNumber: cert.serialNumber, notAfter: cert.notAfter, lifetime });
  return answer(ports, cert.pem, tenantNamespace, cert.notAfter);
}

function answer(ports: ProviderPorts, certificate: string, tenantNamespace: string, notAfter: string): IdentityResponse {
  return {
    clusterId: ports.ids.clusterId, clusterName: ports.ids.clusterName, certificate,
    caBundle: ports.apiServer.caPem, apiServerUrl: ports.apiServer.url, tenantNamespace, notAfter,
  };
}

/**
 * A withdrawal notice from a consumer that unpeered while this cluster could not be reached (a
 * forced unpeering): signed by the key of the identity it ends, which this cluster checks against
 * the certificate it issued. Its half of the unpeering then runs as if the consumer had withdrawn
 * its request: the offer withdrawn (so the replication projection removes what was made for the
 * consumer), the identity revoked. A notice for a certificate that is no longer current (renewed,
 * or peered again since) ends nothing that still stands. Incoming Disabled does not refuse it:
 * ending a peering is always allowed.
 */
export async function acceptWithdrawal(ports: ProviderPorts, req: WithdrawalRequest): Promise<{ outcome: WithdrawalAnswer }> {
  const log = ports.logger.child({ remoteClusterId: req.clusterId, streamId: `incoming-${req.clusterId}` });
  const stored = await ports.findCertificate(req.certFingerprint);
  if (!stored || stored.remoteClusterId !== req.clusterId) {
    throw new AuthRefusal('PolicyRefused', 'UnknownCertificate', `cluster ${ports.ids.clusterId} issued no certificate ${req.certFingerprint} to ${req.clusterId}`);
  }
  const statement = withdrawalStatement({ providerClusterId: ports.ids.clusterId, consumerClusterId: req.clusterId, certFingerprint: req.certFingerprint, signedAt: req.signedAt });
  if (!ports.verifyProof(stored.pem, statement, req.signature)) {
    log.warn('withdrawal notice refused', { certFingerprint: req.certFingerprint });
    throw new AuthRefusal('PolicyRefused', 'WithdrawalSignatureInvalid', 'the withdrawal is not signed by the key of that certificate');
  }
  const state = await ports.loadIncoming(req.clusterId);
  if (!('identity' in state) || state.identity.certFingerprint !== req.certFingerprint) {
    log.info('withdrawal notice for an identity that has ended already', { certFingerprint: req.certFingerprint, status: state.status });
    return { outcome: 'AlreadyEnded' };
  }
  const meta = (): CommandMetadata => ({ now: ports.now().toISOString(), actor: { kind: 'remote-cluster', name: req.clusterId }, correlationId: ports.newId(), commandId: ports.newId() });
  if (state.status === 'offered') {
    await ports.handleIncoming(req.clusterId, { type: 'WithdrawOffer', data: { reason: 'ResourceRequestWithdrawn' }, metadata: meta() }).catch(translate);
  }
  await ports.handleIncoming(req.clusterId, { type: 'RevokeIdentity', data: { reason: 'ConsumerUnpeered' }, metadata: meta() }).catch(translate);
  log.info('identity revoked on the consumer\'s withdrawal notice', { certFingerprint: req.certFingerprint, signedAt: req.signedAt });
  return { outcome: 'Revoked' };
}
