// The Prometheus text exposition format (version 0.0.4): metric families written as `# HELP` and
// `# TYPE` lines and their samples, histograms as cumulative `_bucket{le=…}` series ending in
// `+Inf`, then `_sum` and `_count`. Pure and domain-neutral: it knows metrics, not peerlog.
import { InternalError } from '../errors.js';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

/**
 * One histogram series: `counts[i]` observations fell in (bounds[i-1], bounds[i]], the last entry
 * (index bounds.length) those above every bound. Not cumulative: formatting accumulates them.
 */
export interface HistogramSeries {
  readonly labels: Labels;
  readonly counts: readonly number[];
  readonly sum: number;
}

export type MetricFamily =
  | { readonly name: string; readonly help: string; readonly type: 'counter' | 'gauge'; readonly samples: readonly Sample[] }
  | { readonly name: string; readonly help: string; readonly type: 'histogram'; readonly bounds: readonly number[]; readonly series: readonly HistogramSeries[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** HELP text: backslash and line feed escaped (a double quote stays as it is). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus reads it (Go's ParseFloat): integers plainly, infinities as ±Inf. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(labels: Labels, extra?: readonly [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push([extra[0], extra[1]]);
  if (pairs.length === 0) return '';
  for (const [k] of pairs) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new InternalError('MetricLabelInvalid', `label name ${JSON.stringify(k)} is not a Prometheus label name`);
  }
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

function checkFamily(f: MetricFamily): void {
  if (!METRIC_NAME.test(f.name)) throw new InternalError('MetricNameInvalid', `metric name ${JSON.stringify(f.name)} is not a Prometheus metric name`);
  if (f.type !== 'histogram') return;
  for (let i = 0; i < f.bounds.length; i++) {
    const b = f.bounds[i]!;
    if (!Number.isFinite(b) || (i > 0 && b <= f.bounds[i - 1]!)) throw new InternalError('HistogramBoundsInvalid', `histogram ${f.name}: bounds must be finite and increasing`);
  }
  for (const s of f.series) {
    if ('le' in s.labels) throw new InternalError('MetricLabelInvalid', `histogram ${f.name}: the label le is the bucket's`);
    if (s.counts.length !== f.bounds.length + 1) throw new InternalError('HistogramSeriesInvalid', `histogram ${f.name}: ${s.counts.length} counts for ${f.bounds.length} bounds (one more expected, for +Inf)`);
  }
}

/** The exposition of `families`, in the order given; each family's lines together, ending in a line feed. */
export function formatExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    checkFamily(f);
    if (seen.has(f.name)) throw new InternalError('MetricDuplicate', `metric family ${f.name} is given twice`);
    seen.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type !== 'histogram') {
      for (const s of f.samples) lines.push(`${f.name}${labelText(s.labels)} ${formatValue(s.value)}`);
      continue;
    }
    for (const s of f.series) {
      let cumulative = 0;
      for (let i = 0; i < f.bounds.length; i++) {
        cumulative += s.counts[i]!;
        lines.push(`${f.name}_bucket${labelText(s.labels, ['le', formatValue(f.bounds[i]!)])} ${cumulative}`);
      }
      cumulative += s.counts[f.bounds.length]!;
      lines.push(`${f.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${cumulative}`);
      lines.push(`${f.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`);
      lines.push(`${f.name}_count${labelText(s.labels)} ${cumulative}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The bucket an observation falls in: the first bound it does not exceed, else the +Inf bucket. */
export function bucketIndex(bounds: readonly number[], value: number): number {
  for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) return i;
  return bounds.length;
}

/**
 * A counter kept by this process, by label values. Label values from outside (a peer's request)
 * must be bounded by the caller; past `maxSeries` distinct label sets, new ones count under
 * every label `other`, so a flood of odd values cannot grow the exposition without end.
 */
export interface Counter {
  inc(labels: Labels, by?: number): void;
  family(): MetricFamily;
}

export function createCounter(name: string, help: string, labelNames: readonly string[], maxSeries = 200): Counter {
  const values = new Map<string, { labels: Labels; value: number }>();
  const keyOf = (labels: Labels) => JSON.stringify(labelNames.map((n) => labels[n] ?? ''));
  return {
    inc(labels, by = 1) {
      const picked: Labels = Object.fromEntries(labelNames.map((n) => [n, labels[n] ?? '']));
      let key = keyOf(picked);
      let entry = values.get(key);
      if (entry === undefined) {
        const bounded = values.size >= maxSeries ? Object.fromEntries(labelNames.map((n) => [n, 'other'])) : picked;
        key = keyOf(bounded);
        entry = values.get(key) ?? { labels: bounded, value: 0 };
        values.set(key, entry);
      }
      entry.value += by;
    },
    family: () => ({ name, help, type: 'counter', samples: [...values.values()].map((e) => ({ labels: e.labels, value: e.value })) }),
  };
}
