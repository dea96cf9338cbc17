// Durations as kubectl and Go's time.ParseDuration write them ("500ms", "90s", "2m", "1h30m"), or a
// plain number of seconds ("120", "1.5"). Pure logic.
import { ValidationError } from './errors.js';

export const DURATION_FORMS = 'a number of seconds (120) or a duration: 500ms, 90s, 2m, 1h, 1h30m';

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const NUMBER = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
const PLAIN = new RegExp(`^${NUMBER}$`);
const TERM = new RegExp(`(${NUMBER})(ns|us|µs|μs|ms|s|m|h)`, 'y');

/** Milliseconds in `text`, or undefined when it is not a non-negative duration in one of the accepted forms. */
export function parseDurationMs(text: string): number | undefined {
  const t = text.trim();
  if (PLAIN.test(t)) return Number(t) * 1000;
  if (t === '') return undefined;
  let ms = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < t.length) {
    const at = TERM.lastIndex;
    const m = TERM.exec(t);
    if (!m || m.index !== at) return undefined;
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

/** Seconds in `text`; throws `makeError(message)` naming `what` and the accepted forms when it is not a duration. */
export function parseDurationSeconds(text: string, what: string, makeError: (message: string) => Error = (m) => new ValidationError(m, { code: 'InvalidDuration' })): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw makeError(`${what}: ${JSON.stringify(text)} is not a duration (expected ${DURATION_FORMS})`);
  return ms / 1000;
}

