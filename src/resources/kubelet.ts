// The kubelet API as kube-apiserver calls it for `kubectl logs`, in pure form: the Node status
// fields that tell kube-apiserver where a node's kubelet listens, and the query of
// GET /containerLogs/{namespace}/{pod}/{container} read as the kubelet reads it (its v1 PodLogOptions
// decoding and validation, Kubernetes v1.35 pkg/kubelet/server/server.go getContainerLogs).

/** The part of a Node's status kube-apiserver reads to reach its kubelet (pkg/kubelet/client). */
export interface KubeletEndpointStatus {
  readonly addresses: readonly { readonly type: 'InternalIP'; readonly address: string }[];
  /** `Port` is spelled with a capital P in the Kubernetes API (DaemonEndpoint's JSON tag). */
  readonly daemonEndpoints: { readonly kubeletEndpoint: { readonly Port: number } };
}

/**
 * Status fields for a node whose kubelet API is served at address:port. kube-apiserver dials the
 * first address of the types its --kubelet-preferred-address-types lists (default Hostname,
 * InternalDNS, InternalIP, ExternalDNS, ExternalIP), so the node should carry no Hostname address
 * that does not resolve to this server.
 */
export function kubeletEndpointStatus(p: { readonly address: string; readonly port: number }): KubeletEndpointStatus {
  return { addresses: [{ type: 'InternalIP', address: p.address }], daemonEndpoints: { kubeletEndpoint: { Port: p.port } } };
}

export type LogStream = 'All' | 'Stdout' | 'Stderr';

/** One `kubectl logs` request as it reaches a kubelet. */
export interface ContainerLogRequest {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly follow: boolean;
  readonly previous: boolean;
  readonly timestamps: boolean;
  readonly tailLines?: number;
  readonly sinceSeconds?: number;
  /** RFC 3339, as sent (kube-apiserver formats it to the second). */
  readonly sinceTime?: string;
  readonly limitBytes?: number;
  /** Only with the PodLogsQuerySplitStreams feature gate (alpha in v1.35, off by default). */
  readonly stream?: LogStream;
}

export type LogOptions = Omit<ContainerLogRequest, 'namespace' | 'pod' | 'container'>;

/** Why a query is refused, with the status and body the kubelet answers. */
export interface LogQueryRefusal {
  readonly status: 400 | 422;
  readonly message: string;
}

// The kubelet's bodies, word for word (they are JSON-looking plain text).
const UNDECODABLE: LogQueryRefusal = { status: 400, message: '{"message": "Unable to decode query."}' };
const INVALID: LogQueryRefusal = { status: 422, message: '{"message": "Invalid request."}' };

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
// Go's time.RFC3339 as time.Parse accepts it (fractional seconds optional).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Go's strconv.ParseInt(s, 10, 64), saturated into a JavaScript number; undefined when Go refuses it. */
function parseInt64(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > INT64_MAX || n < INT64_MIN) return undefined;
  return Number(n);
}

/** runtime.Convert_Slice_string_To_bool: only absent, "0" and "false" (any case) are false. */
function bool(values: readonly string[]): boolean {
  if (values.length === 0) return false;
  const v = values[0]!;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/**
 * Reads a containerLogs query as the kubelet does: the first value of each parameter, `tail` as
 * the old name of `tailLines` (`tail=all` meaning none), booleans true unless "0" or "false", and
 * then PodLogOptions validation. Unknown parameters are ignored.
 */
export function parseLogQuery(query: URLSearchParams): LogOptions | LogQueryRefusal {
  const all = (k: string) => query.getAll(k);
  let tailValues = all('tailLines');
  const tail = query.get('tail');
  if (tail !== null && tail !== '') tailValues = tail === 'all' ? [] : [tail];

  const int = (values: readonly string[]): number | undefined | null => {
    if (values.length === 0) return undefined;
    const n = parseInt64(values[0]!);
    return n === undefined ? null : n;
  };
  const tailLines = int(tailValues);
  const sinceSeconds = int(all('sinceSeconds'));
  const limitBytes = int(all('limitBytes'));
  if (tailLines === null || sinceSeconds === null || limitBytes === null) return UNDECODABLE;

  let sinceTime: string | undefined;
  const sinceTimeValues = all('sinceTime');
  if (sinceTimeValues.length > 0) {
    const v = sinceTimeValues[0]!;
    if (v !== '' && v !== 'null') {
      if (!RFC3339.test(v) || Number.isNaN(Date.parse(v))) return UNDECODABLE;
      sinceTime = v;
    }
  }
  const streamValues = all('stream');
  const stream = streamValues.length > 0 ? streamValues[0]! : undefined;

  // ValidatePodLogOptions (pkg/apis/core/v1/validation).
  if (tailLines !== undefined && tailLines < 0) return INVALID;
  if (limitBytes !== undefined && limitBytes < 1) return INVALID;
  if (sinceSeconds !== undefined && sinceTime !== undefined) return INVALID;
  if (sinceSeconds !== undefined && sinceSeconds < 1) return INVALID;
  if (stream !== undefined) {
    if (stream !== 'All' && stream !== 'Stdout' && stream !== 'Stderr') return INVALID;
    if (stream !== 'All' && tailLines !== undefined) return INVALID;
  }

  return {
    follow: bool(all('follow')),
    previous: bool(all('previous')),
    timestamps: bool(all('timestamps')),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTime !== undefined ? { sinceTime } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
    ...(stream !== undefined ? { stream: stream as LogStream } : {}),
  };
}

export function isLogQueryRefusal(v: LogOptions | LogQueryRefusal): v is LogQueryRefusal {
  return 'status' in v;
}

/**
 * The provider's `pods/log` of a twin with the options of the kubelet request (v1 PodLogOptions'
 * query parameters; booleans only when true, the rest only when set).
 */
export function podLogPath(p: { readonly namespace: string; readonly pod: string; readonly container: string; readonly options: LogOptions }): string {
  const o = p.options;
  const q = new URLSearchParams({ container: p.container });
  if (o.follow) q.set('follow', 'true');
  if (o.previous) q.set('previous', 'true');
  if (o.timestamps) q.set('timestamps', 'true');
  if (o.tailLines !== undefined) q.set('tailLines', String(o.tailLines));
  if (o.sinceSeconds !== undefined) q.set('sinceSeconds', String(o.sinceSeconds));
  if (o.sinceTime !== undefined) q.set('sinceTime', o.sinceTime);
  if (o.limitBytes !== undefined) q.set('limitBytes', String(o.limitBytes));
  if (o.stream !== undefined) q.set('stream', o.stream);
  return `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.pod)}/log?${q.toString()}`;
}
