import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProxyHeader, ProxyHeaderError, startsWithProxyHeader } from '../../../src/adapters/http/proxy-protocol.js';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const v2 = (verCmd: number, fam: number, block: Buffer) => Buffer.concat([SIG, Buffer.from([verCmd, fam, block.length >> 8, block.length & 0xff]), block]);
const ipv4Block = Buffer.from([203, 0, 113, 9, 10, 0, 0, 1, 0xc3, 0x50, 0x01, 0xbb]);
const refused = (buf: Buffer | string, message: RegExp) => assert.throws(() => parseProxyHeader(Buffer.from(buf)), (e: Error) => e instanceof ProxyHeaderError && message.test(e.message));

describe('parseProxyHeader', () => {
  describe('version 1', () => {
    it('reads a TCP4 line and its length, leaving what follows', () => {
      const line = 'PROXY TCP4 198.51.100.7 10.0.0.1 56324 443\r\n';
      assert.deepEqual(parseProxyHeader(Buffer.concat([Buffer.from(line), Buffer.from([0x16, 0x03])])), { kind: 'header', length: line.length, source: { address: '198.51.100.7', port: 56324 } });
    });
    it('reads a TCP6 line, the address in RFC 5952 form', () => {
      assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 65535 443\r\n')), { kind: 'header', length: 47, source: { address: '2001:db8::1', port: 65535 } });
    });
    it('takes UNKNOWN as no client', () => {
      assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN whatever\r\n')), { kind: 'header', length: 24, source: null });
    });
    it('waits for the rest of a line', () => {
      for (const part of ['P', 'PROX', 'PROXY ', 'PROXY TCP4 198.51.100.7 10.0.0.1 5']) assert.deepEqual(parseProxyHeader(Buffer.from(part)), { kind: 'incomplete' });
    });
    it('refuses a line longer than 107 bytes, complete or not', () => {
      refused(`PROXY TCP4 ${'1'.repeat(100)}`, /longer than 107 bytes/);
      refused(`PROXY TCP4 1.1.1.1 2.2.2.2 1 2${' '.repeat(90)}\r\n`, /longer than 107 bytes/);
    });
    for (const [name, line, message] of [
      ['an unknown protocol', 'PROXY UDP4 1.1.1.1 2.2.2.2 1 2\r\n', /malformed/],
      ['a missing field', 'PROXY TCP4 1.1.1.1 2.2.2.2 1\r\n', /malformed/],
      ['a doubled space', 'PROXY TCP4  1.1.1.1 2.2.2.2 1 2\r\n', /malformed/],
      ['an IPv4 octet above 255', 'PROXY TCP4 256.1.1.1 2.2.2.2 1 2\r\n', /bad TCP4 address/],
      ['a leading zero', 'PROXY TCP4 01.1.1.1 2.2.2.2 1 2\r\n', /bad TCP4 address/],
      ['an IPv6 address under TCP4', 'PROXY TCP4 ::1 ::1 1 2\r\n', /bad TCP4 address/],
      ['a bad IPv6 address', 'PROXY TCP6 2001:db8::1::2 ::1 1 2\r\n', /bad TCP6 address/],
      ['a port above 65535', 'PROXY TCP4 1.1.1.1 2.2.2.2 65536 2\r\n', /bad port/],
      ['a port with a leading zero', 'PROXY TCP4 1.1.1.1 2.2.2.2 080 2\r\n', /bad port/],
    ] as const) {
      it(`refuses ${name}`, () => refused(line, message));
    }
  });

  describe('version 2', () => {
    it('reads PROXY over TCP/IPv4', () => {
      assert.deepEqual(parseProxyHeader(v2(0x21, 0x11, ipv4Block)), { kind: 'header', length: 28, source: { address: '203.0.113.9', port: 50000 } });
    });
    it('reads PROXY over TCP/IPv6, and skips TLVs after the addresses', () => {
      const block = Buffer.concat([Buffer.from('20010db8000000070000000000000042', 'hex'), Buffer.alloc(16), Buffer.from([0x04, 0xd2, 0x01, 0xbb]), Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32])]);
      assert.deepEqual(parseProxyHeader(v2(0x21, 0x21, block)), { kind: 'header', length: 16 + 41, source: { address: '2001:db8:0:7::42', port: 1234 } });
    });
    it('takes LOCAL (a health check) and non-IP families as no client', () => {
      assert.deepEqual(parseProxyHeader(v2(0x20, 0x00, Buffer.alloc(0))), { kind: 'header', length: 16, source: null });
      assert.deepEqual(parseProxyHeader(v2(0x20, 0x11, ipv4Block)), { kind: 'header', length: 28, source: null });
      assert.deepEqual(parseProxyHeader(v2(0x21, 0x31, Buffer.alloc(216))), { kind: 'header', length: 232, source: null });
    });
    it('waits for the signature, the fixed part and the declared length', () => {
      const whole = v2(0x21, 0x11, ipv4Block);
      for (const n of [1, 11, 12, 15, 16, 27]) assert.deepEqual(parseProxyHeader(whole.subarray(0, n)), { kind: 'incomplete' });
    });
    it('refuses a declared length above 2064 bytes before it arrives', () => {
      refused(Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0x08, 0x01])]), /more than 2064/);
      assert.deepEqual(parseProxyHeader(Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0x08, 0x00])])), { kind: 'incomplete' });
    });
    for (const [name, header, message] of [
      ['version 1 in the binary form', v2(0x11, 0x11, ipv4Block), /version 1/],
      ['an unknown command', v2(0x22, 0x11, ipv4Block), /unknown command 2/],
      ['an unknown family', v2(0x21, 0x41, ipv4Block), /unknown address family 0x41/],
      ['IPv4 addresses cut short', v2(0x21, 0x11, ipv4Block.subarray(0, 8)), /too short for IPv4/],
      ['IPv6 addresses cut short', v2(0x21, 0x21, Buffer.alloc(20)), /too short for IPv6/],
    ] as const) {
      it(`refuses ${name}`, () => refused(header, message));
    }
  });

  it('refuses a connection that starts with anything else (a TLS ClientHello, plain HTTP)', () => {
    refused(Buffer.from([0x16, 0x03, 0x01]), /does not start with a PROXY protocol header/);
    refused('POST /identity HTTP/1.1\r\n', /does not start/);
    refused(Buffer.concat([SIG.subarray(0, 11), Buffer.from([0])]), /does not start/);
  });
});

describe('startsWithProxyHeader', () => {
  it('tells as soon as the bytes do, and not before', () => {
    assert.equal(startsWithProxyHeader(Buffer.alloc(0)), undefined);
    assert.equal(startsWithProxyHeader(Buffer.from('PROX')), undefined);
    assert.equal(startsWithProxyHeader(Buffer.from('PROXY ')), true);
    assert.equal(startsWithProxyHeader(SIG.subarray(0, 5)), undefined);
    assert.equal(startsWithProxyHeader(SIG), true);
    assert.equal(startsWithProxyHeader(Buffer.from([0x16])), false);
    assert.equal(startsWithProxyHeader(Buffer.from('POST')), false);
  });
});
