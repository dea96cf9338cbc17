// The PROXY protocol header (HAProxy's spec, versions 1 and 2) that a TCP load balancer sends before
// the TLS handshake, naming the client it accepted. Pure: the server feeds it the first bytes of a
// connection and learns whether the header is complete, and whose connection it is.
import { formatIpv6, IPV4_PATTERN as IPV4, parseIpv6 } from '../../auth/rate-limit.js';
import { ProxyHeaderError } from '../../errors.js';

export { ProxyHeaderError };

/** The 12 bytes that open a version 2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** A version 1 line is at most 107 bytes with its CRLF (the spec's own bound). */
export const PROXY_V1_MAX_BYTES = 107;
/** Version 2 may carry TLVs after the addresses; more than this is not a load balancer's header. */
export const PROXY_V2_MAX_BYTES = 16 + 2048;

export interface ProxySource {
  readonly address: string;
  readonly port: number;
}

export type ProxyParse =
  /** More bytes are needed to decide. */
  | { readonly kind: 'incomplete' }
  /**
   * A complete header of `length` bytes. `source` is null for a header that names no client (v1
   * UNKNOWN, v2 LOCAL such as a balancer's health check, or an address family other than IP):
   * the connection then stands for itself.
   */
  | { readonly kind: 'header'; readonly length: number; readonly source: ProxySource | null };


const PORT = /^(?:0|[1-9]\d{0,4})$/;

/**
 * Whether a connection whose first bytes are `head` starts with a PROXY header: true or false, or
 * undefined while too few bytes have come to tell.
 */
export function startsWithProxyHeader(head: Buffer): boolean | undefined {
  for (const signature of [V1_PREFIX, PROXY_V2_SIGNATURE]) {
    const n = Math.min(head.length, signature.length);
    if (n > 0 && head.subarray(0, n).equals(signature.subarray(0, n))) return n === signature.length ? true : undefined;
  }
  return head.length === 0 ? undefined : false;
}

/** Parses the header at the start of `buf`; throws ProxyHeaderError on anything malformed or too large. */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  const starts = startsWithProxyHeader(buf);
  if (starts === false) throw new ProxyHeaderError('the connection does not start with a PROXY protocol header');
  if (starts === undefined) return { kind: 'incomplete' };
  return buf[0] === V1_PREFIX[0] ? parseV1(buf) : parseV2(buf);
}

function parseV1(buf: Buffer): ProxyParse {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    if (buf.length >= PROXY_V1_MAX_BYTES) throw new ProxyHeaderError(`PROXY v1 header longer than ${PROXY_V1_MAX_BYTES} bytes`);
    return { kind: 'incomplete' };
  }
  const length = end + 2;
  if (length > PROXY_V1_MAX_BYTES) throw new ProxyHeaderError(`PROXY v1 header longer than ${PROXY_V1_MAX_BYTES} bytes`);
  const line = buf.subarray(0, end).toString('latin1');
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'header', length, source: null };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) throw new ProxyHeaderError('malformed PROXY v1 header');
  const [, family, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const validAddress = (a: string) => (family === 'TCP4' ? IPV4.test(a) : parseIpv6(a) !== null);
  if (!validAddress(src) || !validAddress(dst)) throw new ProxyHeaderError(`malformed PROXY v1 header: bad ${family} address`);
  for (const p of [sport, dport]) if (!PORT.test(p) || Number(p) > 65535) throw new ProxyHeaderError('malformed PROXY v1 header: bad port');
  return { kind: 'header', length, source: { address: family === 'TCP6' ? formatIpv6(parseIpv6(src)!) : src, port: Number(sport) } };
}

function parseV2(buf: Buffer): ProxyParse {
  if (buf.length < 16) return { kind: 'incomplete' };
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) throw new ProxyHeaderError(`PROXY v2 header with version ${verCmd >> 4}`);
  const command = verCmd & 0x0f;
  if (command > 1) throw new ProxyHeaderError(`PROXY v2 header with unknown command ${command}`);
  const famProto = buf[13]!;
  const declared = buf.readUInt16BE(14);
  const length = 16 + declared;
  if (length > PROXY_V2_MAX_BYTES) throw new ProxyHeaderError(`PROXY v2 header of ${length} bytes, more than ${PROXY_V2_MAX_BYTES}`);
  if (buf.length < length) return { kind: 'incomplete' };
  // LOCAL: the balancer speaks for itself (health checks); the address block is to be ignored.
  if (command === 0) return { kind: 'header', length, source: null };
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  if (family > 3 || transport > 2) throw new ProxyHeaderError(`PROXY v2 header with unknown address family 0x${famProto.toString(16)}`);
  const block = buf.subarray(16, length);
  if (family === 1) {
    if (block.length < 12) throw new ProxyHeaderError('PROXY v2 header too short for IPv4 addresses');
    return { kind: 'header', length, source: { address: [...block.subarray(0, 4)].join('.'), port: block.readUInt16BE(8) } };
  }
  if (family === 2) {
    if (block.length < 36) throw new ProxyHeaderError('PROXY v2 header too short for IPv6 addresses');
    const words = Array.from({ length: 8 }, (_, i) => block.readUInt16BE(i * 2));
    return { kind: 'header', length, source: { address: formatIpv6(words), port: block.readUInt16BE(32) } };
  }
  // UNSPEC or UNIX sockets: no IP address to stand for the client.
  return { kind: 'header', length, source: null };
}
