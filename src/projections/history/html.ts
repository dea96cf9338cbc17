// The timeline of a peering as one self-contained HTML page: inline CSS and SVG, no script, no
// external URL, so it opens anywhere offline. Phases are drawn per cycle on a shared time axis;
// the phases and the events follow as tables. Pure: the same timeline gives the same page.
import type { Cycle, Phase, PhaseName, Timeline } from './timeline.js';

export interface HistoryPage {
  /** The ForeignCluster's name and the remote cluster's id. */
  readonly name: string;
  readonly clusterId: string;
  /** Where the axis ends and running phases stop: the as-of time, or when the page was made. */
  readonly until: string;
  readonly timeline: Timeline;
}

export const PHASE_LABELS: Readonly<Record<PhaseName, string>> = {
  authentication: 'authentication', negotiation: 'negotiation', virtualNode: 'virtual node', offloading: 'offloading', teardown: 'teardown',
};

const COLOURS: Readonly<Record<PhaseName, string>> = {
  authentication: '#4e79a7', negotiation: '#f28e2b', virtualNode: '#59a14f', offloading: '#76b7b2', teardown: '#e15759',
};

/** Text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A duration as kubectl writes ages: 850ms, 12.3s, 4m5s, 2h3m, 3d4h. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toString()}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

const WIDTH = 960;
const LEFT = 130;
const ROW = 34;
const TOP = 24;

/** The SVG drawing: one row per cycle, one bar per phase, the axis from the first event to `until`. */
export function renderPhasesSvg(cycles: readonly Cycle[], until: string): string {
  const starts = cycles.map((c) => Date.parse(c.start));
  const t0 = starts.length > 0 ? Math.min(...starts) : Date.parse(until);
  const t1 = Math.max(Date.parse(until), ...cycles.map((c) => Date.parse(c.end ?? until)), t0 + 1);
  const x = (iso: string) => LEFT + Math.round(((Date.parse(iso) - t0) / (t1 - t0)) * (WIDTH - LEFT - 10) * 10) / 10;
  const height = TOP + ROW * Math.max(cycles.length, 1) + 10;
  const bar = (c: Cycle, p: Phase, y: number) => {
    const from = x(p.start);
    const w = Math.max(2, Math.round((x(p.end ?? until) - from) * 10) / 10);
    const took = p.durationMs === null ? `${formatDuration(Date.parse(until) - Date.parse(p.start))} so far` : formatDuration(p.durationMs);
    return `<g class="phase" data-phase="${p.name}" data-cycle="${c.direction}-${c.number}"><rect x="${from}" y="${y}" width="${w}" height="20" fill="${COLOURS[p.name]}"/>`
      + `<title>${PHASE_LABELS[p.name]}: ${took} (${p.outcome})</title></g>`;
  };
  const rows = cycles.map((c, i) => {
    const y = TOP + i * ROW;
    return `<text x="4" y="${y + 14}">${c.direction} #${c.number}</text>${c.phases.map((p) => bar(c, p, y)).join('')}`;
  });
  const axis = `<text x="${LEFT}" y="14">${escapeHtml(new Date(t0).toISOString())}</text><text x="${WIDTH - 10}" y="14" text-anchor="end">${escapeHtml(new Date(t1).toISOString())}</text>`;
  return `<svg width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="phases of each cycle">${axis}${rows.join('')}</svg>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}svg text{font:12px system-ui,sans-serif}
table{border-collapse:collapse;margin:12px 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}
.failed{color:#b00}.waiting{color:#a60}.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}`;

export function renderHistoryHtml(page: HistoryPage): string {
  const { timeline } = page;
  const legend = (Object.keys(PHASE_LABELS) as PhaseName[]).map((p) => `<span><i style="background:${COLOURS[p]}"></i>${PHASE_LABELS[p]}</span>`).join('');
  const phaseRows = timeline.cycles.flatMap((c) => c.phases.map((p) => `<tr data-phase="${p.name}"><td>${c.direction} #${c.number}</td><td>${PHASE_LABELS[p.name]}</td>`
    + `<td>${escapeHtml(p.start)}</td><td>${p.end === null ? '' : escapeHtml(p.end)}</td><td>${p.durationMs === null ? '' : formatDuration(p.durationMs)}</td><td>${p.outcome}</td></tr>`));
  const eventRows = timeline.events.map((e) => `<tr class="${e.outcome}"><td>${escapeHtml(e.time)}</td><td>${e.direction}</td><td>${e.cycle === null ? '' : `#${e.cycle} ${e.phase === null ? '' : PHASE_LABELS[e.phase]}`}</td>`
    + `<td>${escapeHtml(e.type)}</td><td>${escapeHtml(`${e.actor.kind}:${e.actor.name}`)}</td><td>${e.outcome}</td><td>${e.reason === null ? '' : escapeHtml(e.reason)}</td></tr>`);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>peerlog history: ${escapeHtml(page.name)}</title><style>${STYLE}</style></head><body>
<h1>Peering ${escapeHtml(page.name)} (${escapeHtml(page.clusterId)})</h1>
<p>As of ${escapeHtml(page.until)}: ${timeline.cycles.length} cycle(s), ${timeline.events.length} event(s).</p>
<p class="legend">${legend}</p>
${renderPhasesSvg(timeline.cycles, page.until)}
<h2>Phases</h2>
<table class="phases"><tr><th>cycle</th><th>phase</th><th>start</th><th>end</th><th>duration</th><th>outcome</th></tr>${phaseRows.join('')}</table>
<h2>Events</h2>
<table class="events"><tr><th>time</th><th>direction</th><th>phase</th><th>step</th><th>actor</th><th>outcome</th><th>reason</th></tr>${eventRows.join('')}</table>
</body></html>
`;
}
