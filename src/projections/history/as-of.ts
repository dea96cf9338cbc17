// The instant `--as-of` names: an RFC 3339 time, or a kubectl-style duration ago. Pure: now is given.
import { DURATION_FORMS, parseDurationMs } from '../../duration.js';
import { ValidationError } from '../../errors.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export const AS_OF_FORMS = `an RFC 3339 time (2026-05-01T10:00:00Z, 2026-05-01T12:00:00.250+02:00) or a duration ago (${DURATION_FORMS.replace('a number of seconds (120) or a duration: ', '')}; 10m = ten minutes ago)`;

/** The instant `text` names, as an ISO time with milliseconds (finer digits are cut). */
export function parseAsOf(text: string, now: Date, makeError: (message: string) => Error = (m) => new ValidationError(m, { field: 'as-of', code: 'InvalidSetting' })): string {
  const t = text.trim();
  if (RFC3339.test(t)) {
    // Date.parse reads at most milliseconds; cut finer digits first so it never rounds up.
    const at = Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
    if (Number.isFinite(at)) return new Date(at).toISOString();
  } else {
    const ago = parseDurationMs(t);
    if (ago !== undefined) return new Date(now.getTime() - Math.floor(ago)).toISOString();
  }
  throw makeError(`--as-of: ${JSON.stringify(text)} is neither an RFC 3339 time nor a duration (expected ${AS_OF_FORMS})`);
}
