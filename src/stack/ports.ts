// The local stack's port layout: every port is PEERLOG_STACK_PORT_BASE plus a fixed offset. The
// base must keep every derived port out of the kernel's ephemeral range (the local ports of
// outgoing connections: one of the stack's own connections can take a port before its server binds
// it) and at most 65535. Pure logic; the caller reads /proc.

/** Each port's offset from the base, and what listens there. */
export const PORT_OFFSETS = {
  postgres: 32, etcdClient: 79, etcdPeer: 80, kafka: 92, kafkaController: 93,
  kwokAlpha: 250, kwokBeta: 251, kubeletAlpha: 252, kubeletBeta: 253, metricsAlpha: 254, metricsBeta: 255,
  controllerManagerAlpha: 257, controllerManagerBeta: 258, schedulerAlpha: 259, schedulerBeta: 260,
  apiserverAlpha: 443, apiserverBeta: 444, authAlpha: 601, authBeta: 602,
} as const;
export type PortName = keyof typeof PORT_OFFSETS;
export type PortMap = Readonly<Record<PortName, number>>;

export interface PortRange { readonly low: number; readonly high: number }

/** Linux's default ephemeral range, used when /proc/sys/net/ipv4/ip_local_port_range cannot be read. */
export const LINUX_DEFAULT_EPHEMERAL: PortRange = { low: 32768, high: 60999 };
/** Kubernetes' default NodePort range: kube-proxy on the same host would take these. */
export const NODEPORT_RANGE: PortRange = { low: 30000, high: 32767 };
/** Ports that common services default to; a default base stays off them. */
export const WELL_KNOWN_PORTS: ReadonlyMap<number, string> = new Map([
  [2049, 'NFS'], [2375, 'Docker'], [2376, 'Docker TLS'], [2379, 'etcd'], [2380, 'etcd peer'], [3000, 'dev servers'],
  [3306, 'MySQL'], [4317, 'OTLP gRPC'], [4318, 'OTLP HTTP'], [5000, 'registries'], [5432, 'PostgreSQL'],
  [5672, 'AMQP'], [6379, 'Redis'], [6443, 'kube-apiserver'], [8000, 'HTTP alt'], [8080, 'HTTP alt'], [8443, 'HTTPS alt'],
  [9000, 'various'], [9090, 'Prometheus'], [9092, 'Kafka'], [9093, 'Kafka controller'], [9200, 'Elasticsearch'],
  [9300, 'Elasticsearch'], [10250, 'kubelet'], [10255, 'kubelet read-only'], [10256, 'kube-proxy'],
  [10257, 'kube-controller-manager'], [10259, 'kube-scheduler'], [11211, 'memcached'], [15672, 'RabbitMQ'],
  [24224, 'fluentd'], [27017, 'MongoDB'],
]);
/** Defaults, in order of preference: the first whose ports avoid all of the above is taken. */
export const DEFAULT_BASES: readonly number[] = [24000, 62000, 14000];
export const BASE_SETTING = 'PEERLOG_STACK_PORT_BASE';

export function portsFor(base: number): PortMap {
  return Object.fromEntries(Object.entries(PORT_OFFSETS).map(([k, off]) => [k, base + off])) as unknown as PortMap;
}

/** Parses the content of /proc/sys/net/ipv4/ip_local_port_range ("32768\t60999"). */
export function parseEphemeralRange(text: string | undefined): PortRange {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text ?? '');
  if (!m) return LINUX_DEFAULT_EPHEMERAL;
  const low = Number(m[1]);
  const high = Number(m[2]);
  return low <= high ? { low, high } : LINUX_DEFAULT_EPHEMERAL;
}

const inRange = (p: number, r: PortRange) => p >= r.low && p <= r.high;

/** Why `base` cannot be used on this machine (empty when it can). */
export function baseProblems(base: number, ephemeral: PortRange): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(base) || base < 0) return [`${base} is not a non-negative integer`];
  const ports = portsFor(base);
  const high = Object.entries(ports).filter(([, p]) => p > 65535);
  if (high.length > 0) problems.push(`${high.map(([n, p]) => `${n} ${p}`).join(', ')} above 65535`);
  const eph = Object.entries(ports).filter(([, p]) => inRange(p, ephemeral));
  if (eph.length > 0) {
    problems.push(`${eph.map(([n, p]) => `${n} ${p}`).join(', ')} inside this machine's ephemeral port range ${ephemeral.low}-${ephemeral.high} `
      + '(net.ipv4.ip_local_port_range: the kernel hands these out as local ports of outgoing connections, so a server may find its port taken)');
  }
  const low = Object.entries(ports).filter(([, p]) => p < 1);
  if (low.length > 0) problems.push(`${low.map(([n, p]) => `${n} ${p}`).join(', ')} below 1`);
  return problems;
}

/** True when no port of `base` is in the ephemeral or NodePort range, on a well-known port, or privileged. */
export function goodDefault(base: number, ephemeral: PortRange): boolean {
  if (baseProblems(base, ephemeral).length > 0) return false;
  return Object.values(portsFor(base)).every((p) => p >= 1024 && !inRange(p, NODEPORT_RANGE) && !WELL_KNOWN_PORTS.has(p));
}

/**
 * The base to use: `given` (the setting's raw value) when set and usable, else the first good
 * default. Throws naming the setting when the given base cannot work on this machine.
 */
export function chooseBase(given: string | undefined, ephemeral: PortRange): number {
  if (given !== undefined && given.trim() !== '') {
    const base = /^\d+$/.test(given.trim()) ? Number(given.trim()) : NaN;
    if (Number.isNaN(base)) throw new Error(`${BASE_SETTING}=${given} is not a port number`);
    const problems = baseProblems(base, ephemeral);
    if (problems.length > 0) {
      throw new Error(`${BASE_SETTING}=${given} puts ports ${problems.join('; and ')}. `
        + `Choose a base whose ports base+${PORT_OFFSETS.postgres}..base+${PORT_OFFSETS.authBeta} lie outside ${ephemeral.low}-${ephemeral.high} `
        + `and below 65536 (e.g. ${DEFAULT_BASES.find((b) => goodDefault(b, ephemeral)) ?? 'unset it'}), or unset it`);
    }
    return base;
  }
  const base = DEFAULT_BASES.find((b) => goodDefault(b, ephemeral));
  if (base === undefined) {
    throw new Error(`no default port base fits this machine's ephemeral port range ${ephemeral.low}-${ephemeral.high}: set ${BASE_SETTING}`);
  }
  return base;
}

/**
 * The ports that moved between a recorded layout and this one, as "name old → new" (empty when
 * none). A port the record does not name is new in this version (no process of the recorded stack
 * holds it): it is not a move, and `portAdditions` lists it.
 */
export function portChanges(before: Partial<Record<string, number>>, after: PortMap): string[] {
  return (Object.keys(PORT_OFFSETS) as PortName[])
    .filter((k) => before[k] !== undefined && before[k] !== after[k])
    .map((k) => `${k} ${before[k]} → ${after[k]}`);
}

/** The ports of this layout that a recorded layout does not name (added by a later version). */
export function portAdditions(before: Partial<Record<string, number>>, after: PortMap): string[] {
  return (Object.keys(PORT_OFFSETS) as PortName[]).filter((k) => before[k] === undefined).map((k) => `${k} ${after[k]}`);
}
