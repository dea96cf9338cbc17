// The Secrets a control plane keeps in its own cluster: the peering token, the authentication
// endpoint's serving certificate, and (on a consumer) each identity a provider issued.
import type { V1Secret } from '@kubernetes/client-node';
import {
  AUTH_TLS_SECRET_NAME, IDENTITY_SECRET_NAME, LABELS, MANAGED_BY, TOKEN_SECRET_AUTH_URL_KEY, TOKEN_SECRET_FINGERPRINT_KEY,
  TOKEN_SECRET_KEY, TOKEN_SECRET_NAME,
} from '../../resources/constants.js';
import { KubernetesError, type KubeClient, type KubeObject } from './client.js';

type Secret = V1Secret & KubeObject;

const decode = (s: Secret | undefined, key: string): string | undefined => {
  const v = s?.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

function forgeSecret(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string> = {}, type = 'Opaque'): Secret {
  return {
    apiVersion: 'v1', kind: 'Secret', type,
    metadata: { name, namespace, labels: { [LABELS.managedBy]: MANAGED_BY, ...labels } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

/** One value of a Secret, decoded; undefined when the Secret or the key is missing. */
export async function readSecretValue(kube: KubeClient, namespace: string, name: string, key: string): Promise<string | undefined> {
  return decode(await kube.get<Secret>('v1', 'Secret', name, namespace), key);
}

/** The endpoint's serving certificate, once a control plane has made it. */
export function readServingCert(kube: KubeClient, namespace: string): Promise<string | undefined> {
  return readSecretValue(kube, namespace, AUTH_TLS_SECRET_NAME, 'tls.crt');
}

/** A provider's token as a consumer keeps it: bound to that provider by label, with its endpoint. */
export interface PeeringToken {
  readonly token?: string;
  /** The value of the label LABELS.remoteClusterId, if any. */
  readonly remoteClusterId?: string;
  readonly authUrl?: string;
  readonly authFingerprint?: string;
  /** The Secret's resourceVersion: what changes when the token, or anything kept with it, does. */
  readonly resourceVersion?: string;
}

/** The Secret `name` read as a peering token (the token under `key`); undefined when it does not exist. */
export async function readPeeringToken(kube: KubeClient, namespace: string, name: string, key = TOKEN_SECRET_KEY): Promise<PeeringToken | undefined> {
  const s = await kube.get<Secret>('v1', 'Secret', name, namespace);
  if (!s) return undefined;
  const pick = <T extends string | undefined>(k: string, v: T) => (v === undefined ? {} : { [k]: v });
  return {
    ...pick('token', decode(s, key)), ...pick('remoteClusterId', s.metadata?.labels?.[LABELS.remoteClusterId]),
    ...pick('authUrl', decode(s, TOKEN_SECRET_AUTH_URL_KEY)?.trim()), ...pick('authFingerprint', decode(s, TOKEN_SECRET_FINGERPRINT_KEY)?.trim()),
    ...pick('resourceVersion', s.metadata?.resourceVersion),
  };
}

/** Stores a provider's token bound to that provider (label) and to its endpoint (authUrl, fingerprint). */
export async function writePeeringToken(kube: KubeClient, namespace: string, name: string, p: { remoteClusterId: string; token: string; authUrl: string; authFingerprint?: string }): Promise<void> {
  await kube.apply(forgeSecret(namespace, name, {
    [TOKEN_SECRET_KEY]: p.token, [TOKEN_SECRET_AUTH_URL_KEY]: p.authUrl, ...(p.authFingerprint ? { [TOKEN_SECRET_FINGERPRINT_KEY]: p.authFingerprint } : {}),
  }, { [LABELS.remoteClusterId]: p.remoteClusterId }));
}

export async function ensureNamespace(kube: KubeClient, name: string, labels: Record<string, string> = {}): Promise<void> {
  await untilNotTerminating(kube, name);
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [LABELS.managedBy]: MANAGED_BY, ...labels } } });
}

/**
 * Waits while a namespace of that name is being deleted (an unpeering just removed it, and a
 * re-peer wants it again): applying to it meanwhile would seem to work, and the namespace would
 * then vanish with what was written in it. Throws a retriable error after `timeoutMs`.
 */
export async function untilNotTerminating(kube: KubeClient, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ns = await kube.get<KubeObject>('v1', 'Namespace', name);
    if (!ns?.metadata?.deletionTimestamp) return;
    if (Date.now() > deadline) throw new KubernetesError(409, 'NamespaceTerminating', `namespace ${name} is still being deleted after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface TokenStore {
  /** The current token, or undefined when none was ever created. */
  read(): Promise<string | undefined>;
  /** The current token, created from `generate` if there is none yet (create-once, race-safe). */
  ensure(generate: () => string): Promise<{ token: string; created: boolean }>;
  /** Replaces the token; the old one stops working as soon as this returns. */
  rotate(generate: () => string): Promise<string>;
}

export function createTokenStore(kube: KubeClient, namespace: string): TokenStore {
  const read = () => readSecretValue(kube, namespace, TOKEN_SECRET_NAME, TOKEN_SECRET_KEY);
  return {
    read,
    async ensure(generate) {
      const existing = await read();
      if (existing) return { token: existing, created: false };
      await ensureNamespace(kube, namespace);
      try {
        // create, not apply: two racing `peerlog token` runs must agree on one token.
        await kube.create(forgeSecret(namespace, TOKEN_SECRET_NAME, { [TOKEN_SECRET_KEY]: generate() }));
        return { token: (await read())!, created: true };
      } catch (e) {
        const again = await read();
        if (again && (e as { status?: number }).status === 409) return { token: again, created: false };
        throw e;
      }
    },
    async rotate(generate) {
      await ensureNamespace(kube, namespace);
      const token = generate();
      await kube.apply(forgeSecret(namespace, TOKEN_SECRET_NAME, { [TOKEN_SECRET_KEY]: token }));
      return token;
    },
  };
}

export interface TlsPair { readonly certPem: string; readonly keyPem: string }

/** The serving certificate kept across restarts, so that a consumer pinning it keeps trusting it. */
export async function loadOrStoreServingCert(
  kube: KubeClient, namespace: string, isUsable: (pair: TlsPair) => boolean, forge: () => Promise<TlsPair>,
): Promise<TlsPair> {
  const s = await kube.get<Secret>('v1', 'Secret', AUTH_TLS_SECRET_NAME, namespace);
  const certPem = decode(s, 'tls.crt');
  const keyPem = decode(s, 'tls.key');
  if (certPem && keyPem && isUsable({ certPem, keyPem })) return { certPem, keyPem };
  const pair = await forge();
  await ensureNamespace(kube, namespace);
  await kube.apply(forgeSecret(namespace, AUTH_TLS_SECRET_NAME, { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem }, {}, 'kubernetes.io/tls'));
  return pair;
}

export interface StoredIdentity {
  readonly keyPem: string;
  readonly certPem?: string;
  readonly caPem?: string;
  /** The new key of a renewal under way, stored before its CSR is sent so that a retry presents it again. */
  readonly renewalKeyPem?: string;
}

/** What an identity Secret holds as read back: its values, and the names of every key it has. */
export interface ReadIdentity extends StoredIdentity {
  readonly keys: readonly string[];
  /** A `kubeconfig` value (written by earlier releases, or by someone else): never loaded, only compared. */
  readonly kubeconfig?: string;
}

/** The keys peerlog writes in an identity Secret; nothing else in it is ever used. */
export const IDENTITY_SECRET_KEYS = ['tls.key', 'tls.crt', 'ca.crt', 'renewal.key'] as const;

/**
 * The consumer's identity towards one provider. The key is stored before the CSR is sent, so a
 * retry after a crash presents the same key and the provider answers idempotently. No kubeconfig is
 * stored: the client to the provider is built from these values and the log (H1), so nothing in the
 * Secret can name a command, a file or a server.
 */
export async function readIdentity(kube: KubeClient, namespace: string): Promise<ReadIdentity | undefined> {
  const s = await kube.get<Secret>('v1', 'Secret', IDENTITY_SECRET_NAME, namespace);
  const keyPem = decode(s, 'tls.key');
  if (!keyPem) return undefined;
  const optional = (key: string, name: string) => { const v = decode(s, key); return v === undefined ? {} : { [name]: v }; };
  return {
    keyPem, keys: Object.keys(s?.data ?? {}),
    ...optional('tls.crt', 'certPem'), ...optional('ca.crt', 'caPem'), ...optional('renewal.key', 'renewalKeyPem'), ...optional('kubeconfig', 'kubeconfig'),
  };
}

/** Server-side apply under peerlog's field manager: a key peerlog wrote before and omits now is removed. */
export async function writeIdentity(kube: KubeClient, namespace: string, remoteClusterId: string, id: StoredIdentity): Promise<void> {
  const data: Record<string, string> = { 'tls.key': id.keyPem };
  if (id.certPem) data['tls.crt'] = id.certPem;
  if (id.caPem) data['ca.crt'] = id.caPem;
  if (id.renewalKeyPem) data['renewal.key'] = id.renewalKeyPem;
  await kube.apply(forgeSecret(namespace, IDENTITY_SECRET_NAME, data, { [LABELS.remoteClusterId]: remoteClusterId }));
}
