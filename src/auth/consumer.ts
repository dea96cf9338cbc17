// The consumer side of authentication: forge a key and a CSR, ask the provider's endpoint for an
// identity, keep it (key, certificate, CA bundle: no kubeconfig) in a Secret of the local tenant
// namespace, and renew it with a new key before it expires. Private keys are stored before the
// request that uses them (so a retry presents the same key) and never leave this cluster.
import type { Logger } from '../adapters/log/index.js';
import type { CommandMetadata } from '../commands/command.js';
import type { HandledCommand } from '../commands/handle.js';
import type { OutgoingCommand } from '../commands/outgoing/commands.js';
import type { OutgoingState } from '../commands/outgoing/state.js';
import type { Actor, WithdrawalNoticeData, WithdrawalOutcome } from '../events/catalogue.js';
import { PEERS_GROUP } from '../resources/constants.js';
import { identityCommonNameFor, isIdentityUserOf, tenantNamespaceFor } from '../resources/names.js';
import { InternalError, PeerlogError } from '../errors.js';
import { AuthenticationFailedError, IdentitySecretInvalidError, failureReasonOf } from './errors.js';
import { parseIdentityResponse, type ClusterIds, type IdentityRequest, type IdentityResponse } from './protocol.js';
import { DEFAULT_RENEW_FRACTION, renewalDueAt, renewalStatement } from './renewal.js';
import { WITHDRAWAL_PATH, parseWithdrawalAnswer, withdrawalStatement, type WithdrawalRequest } from './withdrawal.js';

export interface LocalIdentity {
  readonly keyPem: string;
  readonly certPem?: string;
  readonly caPem?: string;
  /** The new key of a renewal under way. */
  readonly renewalKeyPem?: string;
}

export interface CertificateFacts {
  readonly commonName: string;
  readonly issuer: string;
  readonly fingerprint: string;
  readonly publicKeyFingerprint: string;
  readonly notBefore: string;
  readonly notAfter: string;
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
  inspectCertificate(pem: string): CertificateFacts;
  /** Throws unless the text is one or more PEM certificates and nothing else. */
  parseCaBundle(pem: string): void;
  /** Signs `statement` with the private key (base64): the renewal proof. */
  signProof(keyPem: string, statement: string): string;
  /** GET /ids: who answers at that address, and its certificate's fingerprint. Throws ProviderUnreachable or FingerprintMismatch. */
  probe(authUrl: string, pin?: string): Promise<{ clusterId: string; fingerprint: string }>;
  /** Throws ProviderUnreachableError when the endpoint cannot be reached (or FingerprintMismatch). */
  postIdentity(authUrl: string, body: IdentityRequest, pin?: string): Promise<ProviderAnswer>;
  /** POST /withdrawal: a forced unpeering's notice. Throws ProviderUnreachableError (or FingerprintMismatch). */
  postWithdrawal(authUrl: string, body: WithdrawalRequest, pin?: string): Promise<ProviderAnswer>;
  /** Share of a certificate's lifetime left when it is renewed (default 1/3). */
  readonly renewFraction?: number;
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
}

export interface ObtainedIdentity {
  /** The provider's tenant namespace, where this cluster may write. */
  readonly tenantNamespace: string;
  /** The local namespace holding the identity Secret. */
  readonly localNamespace: string;
  readonly apiServerUrl: string;
  readonly certFingerprint: string;
  readonly notAfter: string;
  /** The endpoint's certificate fingerprint seen on this call (empty when nothing was called). */
  readonly authFingerprint: string;
  /** False when the identity was already held and nothing was asked of the provider. */
  readonly requested: boolean;
}

/** A promise's outcome, kept without an unhandled rejection while other steps run. */
type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
const unsettle = <T>(s: Settled<T>): T => { if (s.ok) return s.value; throw s.error; };

export async function obtainIdentity(
  ports: ConsumerPorts, target: PeeringTarget, token: string, context: { actor: Actor; correlationId: string },
): Promise<ObtainedIdentity> {
  const { remoteClusterId } = target;
  const log = ports.logger.child({ remoteClusterId, streamId: `outgoing-${remoteClusterId}` });
  const meta = (): CommandMetadata => ({ now: ports.now().toISOString(), actor: context.actor, correlationId: context.correlationId, commandId: ports.newId() });
  const handle = (command: Omit<OutgoingCommand, 'metadata'>) => ports.handleOutgoing(remoteClusterId, { ...command, metadata: meta() } as OutgoingCommand);

  // 1. The intent, recorded first: everything after it is an attempt to fulfil it.
  await handle({ type: 'RequestPeering', data: { remoteClusterId, remoteClusterName: target.remoteClusterName, authUrl: target.authUrl } });
  // Who answers there (step 3) is asked meanwhile when no identity is held (step 2 cannot end it
  // here): it sends nothing but the question, and its answer is looked at once steps 1-2 are done.
  const known = await ports.loadOutgoing(remoteClusterId);
  const ask = () => settle(ports.probe(target.authUrl, target.authFingerprint));
  const probing = 'identity' in known && known.identity !== null ? undefined : ask();
  const localNamespace = await ports.ensureLocalTenant(remoteClusterId);
  const stored = await ports.readIdentity(localNamespace);

  // 2. Already authenticated and the certificate at hand: nothing to ask (renewal is another path).
  const state = await ports.loadOutgoing(remoteClusterId);
  if ('identity' in state && state.identity !== null && stored?.certPem) {
    const cert = ports.inspectCertificate(stored.certPem);
    if (cert.fingerprint === state.identity.certFingerprint) {
      return {
        tenantNamespace: state.identity.tenantNamespace, localNamespace, apiServerUrl: state.identity.apiServerUrl,
        certFingerprint: cert.fingerprint, notAfter: cert.notAfter, authFingerprint: '', requested: false,
      };
    }
  }

  // 3. Who answers there, before anything is forged or sent. The token goes only to the certificate
  //    seen here (or the pinned one): an unreachable provider costs no new key, CSR or event.
  const fail = async (status: number | null, reason: ReturnType<typeof failureReasonOf> | 'Unreachable', error: Error): Promise<never> => {
    try {
      await handle({ type: 'RecordAuthenticationFailure', data: { reason, ...(status === null ? {} : { httpStatus: status }), ...wordsOf(target.authUrl, error) } });
    } catch (recording) {
      log.error('the authentication failure could not be recorded', { error: recording });
    }
    log.warn('authentication failed', { reason, httpStatus: status, error: error.message });
    throw error;
  };
  let pin = target.authFingerprint;
  try {
    const ids = unsettle(await (probing ?? ask()));
    if (ids.clusterId !== remoteClusterId) {
      return fail(200, 'InvalidResponse', new AuthenticationFailedError(target.authUrl, 200, 'InvalidResponse', 'ClusterIdMismatch',
        `the endpoint belongs to cluster ${ids.clusterId}, not ${remoteClusterId}`));
    }
    // Learned on first contact; RequestIdentity records it, so the aggregate pins it from then on.
    if (pin === undefined) pin = ids.fingerprint;
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
  // 5. Ask. Every failure is recorded with the provider's reason before it reaches the caller. A
  //    provider that signs through the Kubernetes CSR API names the CN its signer is to copy
  //    (SubjectRequired): the same key asks again with a CSR carrying it.
  let commonName = identityCommonNameFor(ports.ids.clusterId);
  let csr: Awaited<ReturnType<ConsumerPorts['createCsr']>>;
  let answer: ProviderAnswer;
  for (let attempt = 1; ; attempt++) {
    csr = await ports.createCsr(keyPem, { commonName, organization: PEERS_GROUP });
    await handle({ type: 'RequestIdentity', data: { publicKeyFingerprint: csr.publicKeyFingerprint, csrFingerprint: csr.fingerprint, ...(pinOf(pin) ? { authFingerprint: pinOf(pin)! } : {}) } });
    try {
      answer = await ports.postIdentity(target.authUrl, {
        clusterId: ports.ids.clusterId, clusterName: ports.ids.clusterName, token, csr: csr.pem,
      }, pin);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'FingerprintMismatch' || code === 'AnswerTooLarge') {
        return fail(null, 'InvalidResponse', new AuthenticationFailedError(target.authUrl, 0, code, code, (e as Error).message));
      }
      return fail(null, 'Unreachable', e as Error);
    }
    const asked = attempt < MAX_SUBJECT_ATTEMPTS ? subjectRequired(answer, ports.ids.clusterId) : undefined;
    if (asked === undefined) break;
    commonName = asked;
  }
  if (answer.status !== 200) {
    return fail(answer.status, failureReasonOf(answer.status), refusalOf(target.authUrl, answer));
  }

  // 6. Check what came back: a certificate for our key and our name, from the cluster we meant,
  //    naming a usable API server, a CA bundle and the tenant namespace this cluster expects.
  let response: IdentityResponse;
  let cert: CertificateFacts;
  try {
    ({ response, cert } = checkAnswer(ports, answer.body, remoteClusterId, csr.publicKeyFingerprint));
  } catch (e) {
    const reason = e instanceof AnswerRefused ? e.reason : 'InvalidResponse';
    return fail(200, 'InvalidResponse', new AuthenticationFailedError(target.authUrl, 200, 'InvalidResponse', reason, (e as Error).message));
  }
  // 7. The Secret before the event: once CertIssued is in the log, the identity exists.
  await ports.writeIdentity(localNamespace, remoteClusterId, { keyPem, certPem: response.certificate, caPem: response.caBundle });
  await handle({
    type: 'RecordCertificate',
    data: { certFingerprint: cert.fingerprint, notAfter: cert.notAfter, tenantNamespace: response.tenantNamespace, apiServerUrl: response.apiServerUrl },
  });
  log.info('identity obtained', { certFingerprint: cert.fingerprint, notAfter: cert.notAfter, tenantNamespace: response.tenantNamespace });
  return {
    tenantNamespace: response.tenantNamespace, localNamespace, apiServerUrl: response.apiServerUrl, certFingerprint: cert.fingerprint,
    notAfter: cert.notAfter, authFingerprint: answer.fingerprint, requested: true,
  };
}

/** A fingerprint as the log keeps it (64 lowercase hex digits), from the forms users write (`sha256:`, colons). */
export function pinOf(fingerprint: string | undefined | null): string | undefined {
  if (!fingerprint) return undefined;
  const hex = fingerprint.trim().replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** What a failure's event keeps of it: the endpoint tried, the refusal's own code, the message (the decider bounds them). */
function wordsOf(authUrl: string, error: Error): { authUrl: string; detail?: string; message: string } {
  const e = error as { reason?: unknown; code?: unknown };
  const detail = typeof e.reason === 'string' ? e.reason : typeof e.code === 'string' ? e.code : undefined;
  return { authUrl, ...(detail ? { detail } : {}), message: error.message };
}

/** Asks with a CSR for the CN a provider names: the plain one, then the one named (once more if a race moved it). */
const MAX_SUBJECT_ATTEMPTS = 3;

/**
 * The CN a provider asks the CSR to carry (409 SubjectRequired), when it is one this cluster's
 * identity may have: the plain name followed by a lifetime. Anything else is not followed (the
 * refusal is then recorded as it came).
 */
function subjectRequired(answer: ProviderAnswer, clusterId: string): string | undefined {
  if (answer.status !== 409) return undefined;
  const err = (answer.body as { error?: { code?: unknown; commonName?: unknown } } | undefined)?.error;
  if (err?.code !== 'SubjectRequired' || typeof err.commonName !== 'string') return undefined;
  const cn = err.commonName;
  return cn !== identityCommonNameFor(clusterId) && isIdentityUserOf(cn, clusterId) ? cn : undefined;
}

/** The provider's refusal, in its own words (bounded). */
function refusalOf(authUrl: string, answer: ProviderAnswer): AuthenticationFailedError {
  const err = (answer.body as { error?: { code?: string; reason?: string; message?: string } })?.error ?? {};
  return new AuthenticationFailedError(authUrl, answer.status, err.code ?? 'Unknown', err.reason ?? 'unknown', (err.message ?? String(answer.body)).slice(0, 500));
}

/** A provider's answer refused by the consumer, with the reason it is recorded under. */
class AnswerRefused extends PeerlogError {
  constructor(readonly reason: string, message: string) { super('AnswerRefused', message); }
}

/**
 * Why an API server URL a provider names cannot be used, or null. The provider chooses the URL (it
 * is its own kube-apiserver); the consumer only makes sure it is an https URL with a host and no
 * credentials, query or fragment, so the answer cannot smuggle a scheme, a userinfo or a path trick.
 */
export function apiServerUrlProblem(value: string): string | null {
  let url: URL;
  try { url = new URL(value); } catch { return `${JSON.stringify(value.slice(0, 200))} is not a URL`; }
  if (url.protocol !== 'https:') return `the API server URL must be https://, not ${url.protocol}`;
  if (!url.hostname) return 'the API server URL has no host';
  if (url.username || url.password) return 'the API server URL must not carry credentials';
  if (url.search || url.hash) return 'the API server URL must not have a query or a fragment';
  if (value.length > 2048) return 'the API server URL is longer than 2048 characters';
  return null;
}

function checkAnswer(ports: ConsumerPorts, body: unknown, remoteClusterId: string, publicKeyFingerprint: string): { response: IdentityResponse; cert: CertificateFacts } {
  const refuse = (reason: string, message: string): never => { throw new AnswerRefused(reason, message); };
  const response = parseIdentityResponse(body);
  if (response.clusterId !== remoteClusterId) refuse('ClusterIdMismatch', `the endpoint belongs to cluster ${response.clusterId}, not ${remoteClusterId}`);
  let cert: CertificateFacts;
  try { cert = ports.inspectCertificate(response.certificate); } catch { return refuse('CertificateInvalid', 'the certificate does not parse'); }
  if (cert.publicKeyFingerprint !== publicKeyFingerprint) refuse('CertificateKeyMismatch', 'the certificate is not for the key this cluster sent');
  // The provider adds the identity's lifetime to the CN (a provider of an earlier release does not).
  if (!isIdentityUserOf(cert.commonName, ports.ids.clusterId)) {
    refuse('CommonNameMismatch', `the certificate names ${JSON.stringify(cert.commonName.slice(0, 200))}, not ${identityCommonNameFor(ports.ids.clusterId)} or ${identityCommonNameFor(ports.ids.clusterId)}:<lifetime>`);
  }
  const urlProblem = apiServerUrlProblem(response.apiServerUrl);
  if (urlProblem) refuse('ApiServerUrlNotAllowed', urlProblem);
  try { ports.parseCaBundle(response.caBundle); } catch (e) { refuse('CaBundleInvalid', `the CA bundle is not PEM certificates: ${(e as Error).message}`); }
  const expected = tenantNamespaceFor(ports.ids.clusterId);
  if (response.tenantNamespace !== expected) {
    refuse('TenantNamespaceMismatch', `the provider names tenant namespace ${JSON.stringify(response.tenantNamespace.slice(0, 100))}, not ${expected} (derived from this cluster's id)`);
  }
  return { response, cert: cert! };
}

export interface RenewalTarget {
  readonly remoteClusterId: string;
  readonly authUrl: string;
  /** The endpoint's pinned certificate fingerprint (learned on first contact). */
  readonly authFingerprint?: string;
}

export type RenewalOutcome =
  | { readonly renewed: false; readonly dueAt: string }
  | { readonly renewed: true; readonly certFingerprint: string; readonly notAfter: string; readonly dueAt: string };

/**
 * Renews the identity towards a provider once less than `renewFraction` of its certificate's
 * lifetime remains: a new key (stored before use), a CSR for it, and a statement signed with the
 * current key, which is what the provider accepts in place of the token. Every attempt and every
 * failure is in the log (IdentityRenewalRequested, CertRenewed, IdentityRenewalFailed); the current
 * identity stays in force until the new certificate is stored and recorded.
 */
export async function renewIdentityIfDue(
  ports: ConsumerPorts, target: RenewalTarget, context: { actor: Actor; correlationId: string },
): Promise<RenewalOutcome> {
  const { remoteClusterId } = target;
  const log = ports.logger.child({ remoteClusterId, streamId: `outgoing-${remoteClusterId}` });
  const meta = (): CommandMetadata => ({ now: ports.now().toISOString(), actor: context.actor, correlationId: context.correlationId, commandId: ports.newId() });
  const handle = (command: Omit<OutgoingCommand, 'metadata'>) => ports.handleOutgoing(remoteClusterId, { ...command, metadata: meta() } as OutgoingCommand);

  const state = await ports.loadOutgoing(remoteClusterId);
  const identity = 'identity' in state ? state.identity : null;
  if (identity === null) throw new InternalError('NoIdentityToRenew', `no identity towards ${remoteClusterId} to renew`);
  const localNamespace = tenantNamespaceFor(remoteClusterId);
  const stored = await ports.readIdentity(localNamespace);
  if (!stored?.certPem) throw new IdentitySecretInvalidError(localNamespace, 'it holds no certificate');
  const held = ports.inspectCertificate(stored.certPem);

  const record = async (cert: CertificateFacts): Promise<RenewalOutcome> => {
    await handle({
      type: 'RecordRenewedCertificate',
      data: { publicKeyFingerprint: cert.publicKeyFingerprint, certFingerprint: cert.fingerprint, notAfter: cert.notAfter, tenantNamespace: identity.tenantNamespace, apiServerUrl: identity.apiServerUrl },
    });
    log.info('identity renewed', { previousCertFingerprint: identity.certFingerprint, certFingerprint: cert.fingerprint, notAfter: cert.notAfter });
    return { renewed: true, certFingerprint: cert.fingerprint, notAfter: cert.notAfter, dueAt: dueOf(cert).toISOString() };
  };
  const dueOf = (c: CertificateFacts) => renewalDueAt(new Date(c.notBefore), new Date(c.notAfter), ports.renewFraction ?? DEFAULT_RENEW_FRACTION);

  // 1. A renewal stored but not recorded (a crash in between): the Secret is ahead of the log.
  if (held.fingerprint !== identity.certFingerprint) {
    if (identity.renewal && held.publicKeyFingerprint === identity.renewal.publicKeyFingerprint) return record(held);
    throw new IdentitySecretInvalidError(localNamespace, `tls.crt has fingerprint ${held.fingerprint}, not ${identity.certFingerprint} as the log says`);
  }
  const dueAt = dueOf(held);
  if (ports.now().getTime() < dueAt.getTime()) return { renewed: false, dueAt: dueAt.toISOString() };

  // 2. The new key, stored before it is used; a retry presents the same one.
  let nextKey = stored.renewalKeyPem;
  if (!nextKey) {
    nextKey = await ports.newPrivateKey();
    await ports.writeIdentity(localNamespace, remoteClusterId, { ...stored, renewalKeyPem: nextKey });
  }
  let commonName = identityCommonNameFor(ports.ids.clusterId);
  let csr = await ports.createCsr(nextKey, { commonName, organization: PEERS_GROUP });
  await handle({ type: 'RequestIdentityRenewal', data: { publicKeyFingerprint: csr.publicKeyFingerprint, csrFingerprint: csr.fingerprint } });

  // 3. Ask, signed by the current key. Every failure is recorded before it reaches the caller.
  const fail = async (status: number | null, reason: ReturnType<typeof failureReasonOf> | 'Unreachable', error: Error): Promise<never> => {
    try {
      await handle({ type: 'RecordRenewalFailure', data: { reason, ...(status === null ? {} : { httpStatus: status }), ...wordsOf(target.authUrl, error) } });
    } catch (recording) {
      log.error('the renewal failure could not be recorded', { error: recording });
    }
    log.warn('identity renewal failed', { reason, httpStatus: status, error: error.message, notAfter: held.notAfter });
    throw error;
  };
  let answer: ProviderAnswer;
  for (let attempt = 1; ; attempt++) {
    const signature = ports.signProof(stored.keyPem, renewalStatement({
      providerClusterId: remoteClusterId, consumerClusterId: ports.ids.clusterId, certFingerprint: held.fingerprint, csrPem: csr.pem,
    }));
    try {
      answer = await ports.postIdentity(target.authUrl, {
        clusterId: ports.ids.clusterId, clusterName: ports.ids.clusterName, token: '', csr: csr.pem, renewal: { certFingerprint: held.fingerprint, signature },
      }, target.authFingerprint);
    } catch (e) {
      const code = (e as { code?: string }).code;
      return fail(null, code === 'FingerprintMismatch' || code === 'AnswerTooLarge' ? 'InvalidResponse' : 'Unreachable', e as Error);
    }
    // As for a first identity: the CN a CSR-API provider names, for the same new key.
    const asked = attempt < MAX_SUBJECT_ATTEMPTS ? subjectRequired(answer, ports.ids.clusterId) : undefined;
    if (asked === undefined) break;
    commonName = asked;
    csr = await ports.createCsr(nextKey, { commonName, organization: PEERS_GROUP });
    await handle({ type: 'RequestIdentityRenewal', data: { publicKeyFingerprint: csr.publicKeyFingerprint, csrFingerprint: csr.fingerprint } });
  }
  if (answer.status !== 200) {
    return fail(answer.status, failureReasonOf(answer.status), refusalOf(target.authUrl, answer));
  }

  // 4. The same checks as a first identity, and nothing may move but the certificate.
  let checked: { response: IdentityResponse; cert: CertificateFacts };
  try {
    checked = checkAnswer(ports, answer.body, remoteClusterId, csr.publicKeyFingerprint);
    if (checked.response.apiServerUrl !== identity.apiServerUrl) throw new AnswerRefused('ApiServerUrlChanged', `the renewal names API server ${checked.response.apiServerUrl}, not ${identity.apiServerUrl}`);
    if (checked.cert.issuer !== held.issuer) throw new AnswerRefused('IssuerChanged', `the renewed certificate is issued by ${checked.cert.issuer}, not ${held.issuer}`);
    // The CA this cluster trusts for the provider's API server was learned with the first identity:
    // an answer on a renewal may not swap it (whoever answered would then be trusted as that server).
    if (stored.caPem !== undefined && checked.response.caBundle.trim() !== stored.caPem.trim()) {
      throw new AnswerRefused('CaBundleChanged', 'the renewal answers with another CA bundle than the one the identity was issued with');
    }
  } catch (e) {
    const reason = e instanceof AnswerRefused ? e.reason : 'InvalidResponse';
    return fail(200, 'InvalidResponse', new AuthenticationFailedError(target.authUrl, 200, 'InvalidResponse', reason, (e as Error).message));
  }
  // 5. The Secret before the event, as for the first identity; the pending key becomes the key.
  await ports.writeIdentity(localNamespace, remoteClusterId, { keyPem: nextKey, certPem: checked.response.certificate, caPem: checked.response.caBundle });
  return record(checked.cert);
}

/**
 * The withdrawal notice of a forced unpeering, signed with the identity's key before the key is
 * deleted; undefined when the identity Secret no longer holds the certificate the log names (a
 * notice from another key would be refused, so none is made).
 */
export async function signWithdrawalNotice(ports: ConsumerPorts, remoteClusterId: string, certFingerprint: string): Promise<WithdrawalNoticeData | undefined> {
  const stored = await ports.readIdentity(tenantNamespaceFor(remoteClusterId));
  if (!stored?.certPem || ports.inspectCertificate(stored.certPem).fingerprint !== certFingerprint) return undefined;
  const signedAt = ports.now().toISOString();
  const signature = ports.signProof(stored.keyPem, withdrawalStatement({ providerClusterId: remoteClusterId, consumerClusterId: ports.ids.clusterId, certFingerprint, signedAt }));
  return { certFingerprint, signedAt, signature };
}

export type WithdrawalDelivery = { readonly outcome: WithdrawalOutcome; readonly message: string };

/**
 * Posts a withdrawal notice to the provider. Its answer (revoked, ended already, or a refusal in
 * its words) is what the log records; an endpoint that cannot be reached throws, to be tried again.
 */
export async function deliverWithdrawal(ports: ConsumerPorts, target: { authUrl: string; authFingerprint?: string | null }, notice: WithdrawalNoticeData): Promise<WithdrawalDelivery> {
  const answer = await ports.postWithdrawal(target.authUrl, { clusterId: ports.ids.clusterId, ...notice }, target.authFingerprint ?? undefined);
  if (answer.status === 200) {
    const outcome = parseWithdrawalAnswer(answer.body);
    if (outcome === 'Revoked') return { outcome, message: `${target.authUrl} revoked the identity and removes what it made for this cluster` };
    if (outcome === 'AlreadyEnded') return { outcome, message: `${target.authUrl} had ended that identity already` };
  }
  // A provider that is overloaded or failing is asked again; any other answer is its verdict.
  if (answer.status === 429 || answer.status >= 500 || answer.status === 0) {
    throw new PeerlogError('ProviderUnreachable', `${target.authUrl} answered POST ${WITHDRAWAL_PATH} with ${answer.status}; asked again later`, { retriable: true });
  }
  return { outcome: 'Refused', message: refusalOf(target.authUrl, answer).message };
}
