// A thin Kubernetes client: server-side apply under peerlog's one field manager as the idempotent
// "make it so", plain reads and deletes, and API failures translated into KubernetesError.
import * as k8s from '@kubernetes/client-node';
import { PeerlogError } from '../../commands/errors.js';
import { FIELD_MANAGER } from '../../resources/constants.js';

export type KubeObject = k8s.KubernetesObject & Record<string, unknown>;

/** An API call that failed; `status` is the HTTP code (0 when the server could not be reached). */
export class KubernetesError extends PeerlogError {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, message: string, cause?: unknown) {
    // 409 conflicts, 429 throttling, 5xx and unreachable servers can succeed on a later try.
    super('KubernetesApi', message, { cause, retriable: status === 0 || status === 409 || status === 429 || status >= 500 });
    this.status = status;
    this.reason = reason;
  }
}

export function translateKubeError(e: unknown, what: string): KubernetesError {
  if (e instanceof KubernetesError) return e;
  if (e instanceof k8s.ApiException) {
    let body: { reason?: string; message?: string } = {};
    try { body = typeof e.body === 'string' ? JSON.parse(e.body) as typeof body : (e.body as typeof body) ?? {}; } catch { /* not JSON */ }
    return new KubernetesError(e.code, body.reason ?? String(e.code), `${what}: ${body.message ?? `HTTP ${e.code}`}`, e);
  }
  const err = e as { code?: string; message?: string };
  return new KubernetesError(0, 'Unreachable', `${what}: ${err.code ?? ''} ${err.message ?? String(e)}`.trim(), e);
}

export interface KubeClient {
  readonly config: k8s.KubeConfig;
  /** Server-side apply (forced: peerlog owns the fields it sets). */
  apply<T extends KubeObject>(obj: T): Promise<T>;
  /** The object, or undefined when it does not exist. */
  get<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined>;
  create<T extends KubeObject>(obj: T): Promise<T>;
  replace<T extends KubeObject>(obj: T): Promise<T>;
  /** True when deleted, false when it was already gone. */
  delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean>;
  api<T extends k8s.ApiType>(api: new (config: k8s.Configuration) => T): T;
}

function describe(apiVersion: string, kind: string, name: string, namespace?: string): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name} (${apiVersion})`;
}

export function createKubeClient(config: k8s.KubeConfig): KubeClient {
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const of = (o: KubeObject) => describe(o.apiVersion ?? '', o.kind ?? '', o.metadata?.name ?? '', o.metadata?.namespace);
  return {
    config,
    async apply(obj) {
      try {
        return await objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply) as typeof obj;
      } catch (e) { throw translateKubeError(e, `apply ${of(obj)}`); }
    },
    async get<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string) {
      try {
        return await objects.read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } }) as T;
      } catch (e) {
        const err = translateKubeError(e, `read ${describe(apiVersion, kind, name, namespace)}`);
        if (err.status === 404) return undefined;
        throw err;
      }
    },
    async create(obj) {
      try { return await objects.create(obj) as typeof obj; } catch (e) { throw translateKubeError(e, `create ${of(obj)}`); }
    },
    async replace(obj) {
      try { return await objects.replace(obj) as typeof obj; } catch (e) { throw translateKubeError(e, `replace ${of(obj)}`); }
    },
    async delete(apiVersion, kind, name, namespace) {
      try {
        await objects.delete({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } });
        return true;
      } catch (e) {
        const err = translateKubeError(e, `delete ${describe(apiVersion, kind, name, namespace)}`);
        if (err.status === 404) return false;
        throw err;
      }
    },
    api: (api) => config.makeApiClient(api),
  };
}
