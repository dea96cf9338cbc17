// A thin Kubernetes client: server-side apply under peerlog's one field manager as the idempotent
// "make it so", plain reads and deletes, and API failures translated into KubernetesError.
import * as k8s from '@kubernetes/client-node';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { Readable } from 'node:stream';
import { PeerlogError } from '../../errors.js';
import { FIELD_MANAGER } from '../../resources/constants.js';

/** client-node's types (informers, core objects) for code outside the adapters; its code stays here. */
export type * as k8s from '@kubernetes/client-node';

export type KubeObject = k8s.KubernetesObject & Record<string, unknown>;

/** An API call that failed; `status` is the HTTP code (0 when the server could not be reached). */
export class KubernetesError extends PeerlogError {
  readonly status: number;
  readonly reason: string;
  /** The causes the apiserver's Status named (details.causes), e.g. the disruption budget an eviction broke. */
  readonly causes: readonly { readonly reason?: string; readonly message?: string }[];

  constructor(status: number, reason: string, message: string, cause?: unknown, causes: readonly { reason?: string; message?: string }[] = []) {
    // 409 conflicts, 429 throttling, 5xx and unreachable servers can succeed on a later try.
    super('KubernetesApi', message, { cause, retriable: status === 0 || status === 409 || status === 429 || status >= 500 });
    this.status = status;
    this.reason = reason;
    this.causes = causes;
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
  /** True when deleted, false when it was already gone. */
  delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean>;
  api<T extends k8s.ApiType>(api: new (config: k8s.Configuration) => T): T;
  /** Server-side apply of `obj.status` on the status subresource. */
  applyStatus<T extends KubeObject>(obj: T): Promise<T>;
  /** A raw API call; `path` starts with /api or /apis. */
  request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
  /**
   * A GET whose body is returned as it comes (a pod's log), never held whole: the caller reads it at
   * its own pace and destroys it to end the call. A non-2xx answer is a KubernetesError.
   */
  stream(path: string, signal?: AbortSignal): Promise<Readable>;
  /**
   * List + watch of `path` (relisting on 410), with a local cache. Once stopped it stays stopped: a
   * watch that client-node reopens by itself while stop() runs is closed as soon as it opens.
   */
  informer<T extends KubeObject>(path: string, selectors?: string | { labelSelector?: string; fieldSelector?: string }): ListedInformer<T>;
}

/**
 * An informer that says whether its cache has been filled by a list. client-node's start()
 * resolves even when its list fails (the error goes to the error callbacks), so an empty cache
 * after start() may mean "not known yet": read as "none", it would end every peering at a restart.
 */
export type ListedInformer<T extends KubeObject> = k8s.Informer<T> & k8s.ObjectCache<T> & { listed(): boolean };

/** The REST path of an object (kinds peerlog handles: the core ones it touches and its own CRDs). */
export function objectPath(apiVersion: string, kind: string, name?: string, namespace?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const plural = kind.toLowerCase().endsWith('s') ? `${kind.toLowerCase()}es` : `${kind.toLowerCase()}s`;
  return `${base}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

function describe(apiVersion: string, kind: string, name: string, namespace?: string): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name} (${apiVersion})`;
}

export interface KubeClientOptions {
  /**
   * Responses beyond this many bytes are cut off with an error, and every call is routed through
   * the bounded raw path (for a remote cluster, whose answers must not be able to exhaust memory).
   */
  readonly maxResponseBytes?: number;
  /** Total time a call may take, however steadily the server keeps sending (default 30 s). */
  readonly deadlineMs?: number;
}

/** The local cluster may hold many pods and nodes: a cap only against runaway answers. */
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/**
 * Connections one client keeps to its apiserver. Calls beyond it wait for a free one: an effect runs
 * its calls 32 at a time (projections/virtual-kubelet/pods.ts), a few effects and the informers'
 * lists run beside it, and the apiserver serves hundreds of requests in flight.
 */
const MAX_SOCKETS = 64;
/** An idle connection is closed well before the apiserver's own idle timeout (90 s) could close it under a request. */
const IDLE_SOCKET_MS = 30_000;

/**
 * One keep-alive agent per client, so calls reuse TLS connections (a handshake per call costs more
 * than most calls). Undefined when the kubeconfig names a proxy: its agent stays client-node's.
 */
function keepAliveAgent(config: k8s.KubeConfig): () => Promise<HttpsAgent | undefined> {
  let agent: Promise<HttpsAgent | undefined> | undefined;
  return () => agent ??= (async () => {
    const cluster = config.getCurrentCluster();
    if (!cluster || cluster.proxyUrl || !cluster.server.startsWith('https:')) return undefined;
    const o: RequestOptions = {};
    await config.applyToHTTPSOptions(o);
    return new HttpsAgent({
      ca: o.ca, cert: o.cert, key: o.key, pfx: o.pfx, passphrase: o.passphrase, servername: o.servername,
      ...(o.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: o.rejectUnauthorized }),
      keepAlive: true, maxSockets: MAX_SOCKETS, timeout: IDLE_SOCKET_MS,
    });
  })();
}

/** client-node's object API on a configuration of ours, with the kubeconfig's default namespace. */
class ObjectApi extends k8s.KubernetesObjectApi {
  constructor(kc: k8s.KubeConfig, configuration: k8s.Configuration) {
    super(configuration);
    this.setDefaultNamespace(kc);
  }
}

export function createKubeClient(config: k8s.KubeConfig, options: KubeClientOptions = {}): KubeClient {
  const agent = keepAliveAgent(config);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new KubernetesError(0, 'NoCluster', 'the kubeconfig has no current cluster');
  // client-node's calls go through the same agent: its own authentication makes a new one per call.
  const objects = new ObjectApi(config, k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: {
      default: {
        getName: () => 'peerlog',
        async applySecurityAuthentication(context: k8s.RequestContext) {
          await config.applySecurityAuthentication(context);
          const shared = await agent();
          if (shared) context.setAgent(shared);
        },
      },
    },
  }));
  const of = (o: KubeObject) => describe(o.apiVersion ?? '', o.kind ?? '', o.metadata?.name ?? '', o.metadata?.namespace);
  const limits = { maxBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, deadlineMs: options.deadlineMs ?? 30_000 };
  const raw = <T>(method: string, path: string, body: unknown, contentType: string, what: string) => rawCall<T>(config, agent, method, path, body, contentType, what, limits);
  const bounded = options.maxResponseBytes !== undefined;
  return {
    config,
    async apply(obj) {
      if (bounded) {
        const path = `${objectPath(obj.apiVersion!, obj.kind!, obj.metadata!.name!, obj.metadata?.namespace)}?fieldManager=${FIELD_MANAGER}&force=true`;
        return raw('PATCH', path, obj, 'application/apply-patch+yaml', `apply ${of(obj)}`);
      }
      try {
        return await objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply) as typeof obj;
      } catch (e) { throw translateKubeError(e, `apply ${of(obj)}`); }
    },
    async get<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string) {
      if (bounded) {
        try {
          return await raw<T>('GET', objectPath(apiVersion, kind, name, namespace), undefined, 'application/json', `read ${describe(apiVersion, kind, name, namespace)}`);
        } catch (e) {
          if ((e as KubernetesError).status === 404) return undefined;
          throw e;
        }
      }
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
    async applyStatus(obj) {
      const path = `${objectPath(obj.apiVersion!, obj.kind!, obj.metadata!.name!, obj.metadata?.namespace)}/status?fieldManager=${FIELD_MANAGER}&force=true`;
      return raw('PATCH', path, obj, 'application/apply-patch+yaml', `apply status of ${of(obj)}`);
    },
    request: (method, path, body, contentType) => raw(method, path, body, contentType ?? 'application/json', `${method} ${path}`),
    stream: (path, signal) => streamCall(config, path, `GET ${path.split('?')[0]}`, signal),
    informer<T extends KubeObject>(path: string, selectors?: string | { labelSelector?: string; fieldSelector?: string }) {
      const { labelSelector, fieldSelector } = typeof selectors === 'string' ? { labelSelector: selectors, fieldSelector: undefined } : selectors ?? {};
      const query = new URLSearchParams({ ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) }).toString();
      let listed = false;
      const list = async () => {
        const answer = await raw<k8s.KubernetesListObject<T>>('GET', `${path}${query ? `?${query}` : ''}`, undefined, 'application/json', `list ${path}`);
        listed = true;
        return answer;
      };
      // client-node reopens a watch that ended by itself without looking again at stop(): a stop
      // that lands while it lists or connects would leak that watch. Closed here as it opens.
      let stopped = true;
      // A remote cluster's watch is read as a bounded stream too (client-node's reads lines of any length).
      const watch: Pick<k8s.Watch, 'watch'> = bounded ? boundedWatch(config, limits.maxBytes) : new k8s.Watch(config);
      const guarded = {
        async watch(...args: Parameters<k8s.Watch['watch']>) {
          const controller = await watch.watch(...args);
          if (stopped) controller.abort();
          return controller;
        },
      } as k8s.Watch;
      const informer = new k8s.ListWatch<T>(path, guarded, list, false, labelSelector, fieldSelector);
      const start = informer.start.bind(informer);
      const stop = informer.stop.bind(informer);
      informer.start = () => { stopped = false; return start(); };
      informer.stop = () => { stopped = true; return stop(); };
      return Object.assign(informer, { listed: () => listed }) as ListedInformer<T>;
    },
  };
}

async function rawCall<T>(
  config: k8s.KubeConfig, agent: () => Promise<HttpsAgent | undefined>, method: string, path: string, body: unknown, contentType: string, what: string,
  limits: { maxBytes: number; deadlineMs: number },
): Promise<T> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new KubernetesError(0, 'NoCluster', `${what}: the kubeconfig has no current cluster`);
  const url = new URL(path, cluster.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  // The length is stated: Node sends a DELETE's body neither chunked nor with a length by default,
  // and the apiserver then reads none (DeleteOptions such as a grace period would be lost).
  const opts: RequestOptions = { method, headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }) } };
  // Per call still: credentials such as a service-account token may change while the client lives.
  await config.applyToHTTPSOptions(opts);
  const shared = await agent();
  if (shared) opts.agent = shared;
  return new Promise<T>((resolve, reject) => {
    // An idle timeout alone does not stop a server that sends a byte a second: the deadline does.
    const deadline = setTimeout(() => req.destroy(new KubernetesError(0, 'Unreachable', `${what}: no complete answer within ${limits.deadlineMs} ms`)), limits.deadlineMs);
    const req = httpsRequest(url, { ...opts, timeout: Math.min(30_000, limits.deadlineMs) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limits.maxBytes) {
          req.destroy(new KubernetesError(0, 'Unreachable', `${what}: the answer exceeds ${limits.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(deadline);
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: { reason?: string; message?: string; details?: { causes?: { reason?: string; message?: string }[] } } = {};
        try { parsed = JSON.parse(text) as typeof parsed; } catch { /* not JSON */ }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(parsed as T);
        else {
          const causes = Array.isArray(parsed.details?.causes) ? parsed.details.causes.slice(0, 20) : [];
          reject(new KubernetesError(status, parsed.reason ?? String(status), `${what}: ${parsed.message ?? `HTTP ${status}`}`, undefined, causes));
        }
      });
      res.on('error', (e) => { clearTimeout(deadline); reject(translateKubeError(e, what)); });
    });
    req.on('timeout', () => req.destroy(new KubernetesError(0, 'Unreachable', `${what}: no answer within 30 s`)));
    req.on('error', (e) => { clearTimeout(deadline); reject(translateKubeError(e, what)); });
    req.end(payload);
  });
}

/** The most of an error answer read (its Status message); the rest is dropped. */
const MAX_ERROR_BYTES = 64 * 1024;
/** Time the server has to answer with its headers; afterwards a stream may stay silent (a followed log). */
const STREAM_CONNECT_MS = 30_000;

async function streamCall(config: k8s.KubeConfig, path: string, what: string, signal: AbortSignal | undefined): Promise<Readable> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new KubernetesError(0, 'NoCluster', `${what}: the kubeconfig has no current cluster`);
  const url = new URL(path, cluster.server);
  const opts: RequestOptions = { method: 'GET', headers: { accept: '*/*' } };
  await config.applyToHTTPSOptions(opts);
  return new Promise<Readable>((resolve, reject) => {
    const req = httpsRequest(url, { ...opts, ...(signal ? { signal } : {}) }, (res) => {
      clearTimeout(connect);
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) { resolve(res); return; }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size >= MAX_ERROR_BYTES) return;
        chunks.push(c.subarray(0, MAX_ERROR_BYTES - size));
        size += Math.min(c.length, MAX_ERROR_BYTES - size);
      });
      const fail = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: { reason?: string; message?: string } = {};
        try { parsed = JSON.parse(text) as typeof parsed; } catch { /* plain text */ }
        reject(new KubernetesError(status, parsed.reason ?? String(status), `${what}: ${parsed.message ?? (text.trim() || `HTTP ${status}`)}`));
      };
      res.on('end', fail);
      res.on('error', fail);
    });
    const connect = setTimeout(() => req.destroy(new KubernetesError(0, 'Unreachable', `${what}: no answer within ${STREAM_CONNECT_MS} ms`)), STREAM_CONNECT_MS);
    req.on('error', (e) => { clearTimeout(connect); reject(translateKubeError(e, what)); });
    req.end();
  });
}

/** Seconds a remote watch may stay open before the server ends it (the informer then watches again). */
const WATCH_TIMEOUT_SECONDS = 240;

/**
 * A watch whose every line is bounded, whose connection must answer within 30 s, and which ends
 * when it stays silent longer than the server's own timeout: a hostile or broken server can
 * neither grow memory with an endless line nor hold a connection that never answers. The abort
 * controller is returned at once, so a stop during the connect reaches it.
 */
function boundedWatch(config: k8s.KubeConfig, maxLineBytes: number): Pick<k8s.Watch, 'watch'> {
  return {
    async watch(path, queryParams, callback, done) {
      const cluster = config.getCurrentCluster();
      if (!cluster) throw new KubernetesError(0, 'NoCluster', `watch ${path}: the kubeconfig has no current cluster`);
      const url = new URL(path, cluster.server);
      url.searchParams.set('watch', 'true');
      if (queryParams.timeoutSeconds === undefined) url.searchParams.set('timeoutSeconds', String(WATCH_TIMEOUT_SECONDS));
      for (const [k, v] of Object.entries(queryParams)) if (v !== undefined) url.searchParams.set(k, String(v));
      const opts: RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
      await config.applyToHTTPSOptions(opts);
      const controller = new AbortController();
      let ended = false;
      const end = (err: unknown) => { if (ended) return; ended = true; clearTimeout(connect); req.destroy(); done(err ?? null); };
      const connect = setTimeout(() => end(new KubernetesError(0, 'WatchTimeout', `watch ${path}: no answer within 30 s`)), 30_000);
      const req = httpsRequest(url, { ...opts, signal: controller.signal, timeout: (WATCH_TIMEOUT_SECONDS + 60) * 1000 }, (res) => {
        clearTimeout(connect);
        if (res.statusCode !== 200) {
          res.resume();
          end(Object.assign(new KubernetesError(res.statusCode ?? 0, String(res.statusCode), `watch ${path}: HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
          return;
        }
        let pending: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          let start = 0;
          for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
            const line = Buffer.concat([...pending, chunk.subarray(start, nl)]).toString('utf8');
            pending = []; size = 0; start = nl + 1;
            let event: { type?: string; object?: unknown };
            try { event = JSON.parse(line) as typeof event; } catch { continue; }
            if (typeof event.type === 'string') callback(event.type, event.object, event);
          }
          size += chunk.length - start;
          if (size > maxLineBytes) { end(new KubernetesError(0, 'WatchLineTooLong', `watch ${path}: a line exceeds ${maxLineBytes} bytes`)); return; }
          if (start < chunk.length) pending.push(chunk.subarray(start));
        });
        res.on('end', () => end(null));
        res.on('error', (e) => end(e));
      });
      req.on('timeout', () => end(new KubernetesError(0, 'WatchTimeout', `watch ${path}: silent for too long`)));
      req.on('error', (e) => end(controller.signal.aborted ? null : e));
      controller.signal.addEventListener('abort', () => end(null), { once: true });
      req.end();
      return controller;
    },
  };
}
