// The byte-level reading of an event: where its fields stand in the relay's canonical JSON, and
// every other layout refused (the verifier then parses it). Expected places are literal offsets of
// the fixture's text, and hashes below are computed with node:crypto's createHash, not the code under test.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { scanEnvelope, SPOT, SPOTS } from '../../../src/audit/envelope-bytes.js';
import { createLogVerifier, type LogRecord } from '../../../src/audit/verify.js';

const PREV = '0'.repeat(64);
/** An event as the relay writes it, its hash member computed over the rest with createHash. */
function text(o: { type?: string; clusterId?: string; schemaVersion?: string; streamId?: string; prev?: string; tail?: string } = {}): string {
  const head = `{"actor":{"kind":"cli","name":"u"},"causationId":"c","clusterId":"${o.clusterId ?? 'alpha'}","correlationId":"c","data":{"nodeName":"peerlog-n1"}`;
  const rest = `,"id":"00000000-0000-4000-8000-000000000001","occurredAt":"2026-11-24T08:00:00.000Z","prevHash":"${o.prev ?? PREV}","schemaVersion":${o.schemaVersion ?? '1'},"streamId":"${o.streamId ?? 'outgoing-s1'}","streamVersion":1,"type":"${o.type ?? 'VirtualNodeReady'}"}${o.tail ?? ''}`;
  const hash = createHash('sha256').update(head + rest).digest('hex');
  return `${head},"hash":"${hash}"${rest}`;
}
const ALPHA = Buffer.from('alpha');
const scan = (t: string) => { const out = new Int32Array(SPOTS); return scanEnvelope(Buffer.from(t), ALPHA, out, 0) ? out : null; };

describe('scanEnvelope', () => {
  it('finds the fields of canonical text at their offsets', () => {
    const out = scan(text())!;
    // Offsets counted in the fixture (with Python): data from 100 to 125, the hash member right after.
    assert.equal(out[SPOT.hash], 125);
    assert.equal(out[SPOT.id], 206);
    assert.equal(out[SPOT.idEnd], 242);
    assert.equal(out[SPOT.prevHash], 296);
    assert.equal(out[SPOT.checkpoint], 0);
    const t = text();
    assert.equal(t.slice(out[SPOT.type]!, out[SPOT.typeEnd]!), 'VirtualNodeReady');
    assert.equal(t.slice(out[SPOT.prevHash]!, out[SPOT.prevHash]! + 64), PREV);
  });

  it('refuses every other layout, another cluster, an unknown type or version', () => {
    const t = text();
    for (const [what, bad] of [
      ['spaces', JSON.stringify(JSON.parse(t), null, 1)],
      ['keys out of order', JSON.stringify({ id: 'x', ...JSON.parse(t) })],
      ['a trailing newline', `${t}\n`],
      ['cut short', t.slice(0, -1)],
      ['another cluster', text({ clusterId: 'beta' })],
      ['a cluster id that only starts the same', text({ clusterId: 'alphabet' })],
      ['an unknown type', text({ type: 'NotAnEvent' })],
      ['an unknown schema version', text({ schemaVersion: '99' })],
      ['a leading zero', text({ schemaVersion: '01' })],
      ['an escape in a header string', text({ streamId: 'outgoing-\\"s1' })],
      ['non-ASCII in a header string', text({ streamId: 'outgoing-é' })],
      ['a member after type', text({ tail: '' }).replace(/}$/, ',"z":1}')],
    ] as const) assert.equal(scan(bad), null, what);
  });
});

describe('audit verify of records the byte reading refuses', () => {
  const verify = (values: string[]) => {
    const v = createLogVerifier([0], { clusterId: 'alpha' });
    values.forEach((value, i) => v.add({ partition: 0, offset: String(i), value: Buffer.from(value) } satisfies LogRecord));
    return v.finish();
  };
  it('an unknown type whose hash matches its bytes is not taken: Altered', () => {
    const v = verify([text({ type: 'NotAnEvent' })]);
    assert.equal(v.ok ? 'ok' : v.finding.reason, 'Altered');
  });
  it('an unknown schema version whose hash matches its bytes: Altered', () => {
    const v = verify([text({ schemaVersion: '99' })]);
    assert.equal(v.ok ? 'ok' : v.finding.reason, 'Altered');
  });
  it('a canonical event of another cluster: Inserted', () => {
    const v = verify([text({ clusterId: 'beta' })]);
    assert.equal(v.ok ? 'ok' : v.finding.reason, 'Inserted');
  });
});
