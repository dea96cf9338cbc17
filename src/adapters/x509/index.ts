// X.509 adapter: key pairs, CSRs and certificates through @peculiar/x509 on Node's WebCrypto.
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import { webcrypto, createHash, createPrivateKey, createPublicKey, verify as verifySignature } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { InternalError, PeerlogError, ValidationError } from '../../errors.js';

// Node's WebCrypto types live under the webcrypto namespace, not as DOM globals.
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface KeyPairPem {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

export interface DistinguishedName {
  readonly commonName: string;
  readonly organizations?: readonly string[];
}

export interface CertificateInfo {
  readonly subject: DistinguishedName;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 of the DER certificate, hex. */
  readonly fingerprint: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo, hex: identifies the key whatever the certificate. */
  readonly publicKeyFingerprint: string;
}

export interface CsrInfo {
  readonly subject: DistinguishedName;
  /** Every subject attribute in order, as [type, value]: what a policy checks beyond CN and O. */
  readonly subjectAttributes: readonly (readonly [string, string])[];
  readonly signatureValid: boolean;
  readonly keyAlgorithm: 'ECDSA' | 'Ed25519' | 'RSA' | 'other';
  readonly keyDetail: string;
  /** RSA modulus length in bits; 0 for other algorithms. */
  readonly rsaBits: number;
  /** RSA public exponent; 0 for other algorithms. */
  readonly rsaExponent: number;
  /** Each extension the CSR requests and each other CSR attribute, by name (or OID when unnamed). */
  readonly requestedAttributes: readonly string[];
  readonly publicKeyFingerprint: string;
  readonly publicKeyDer: ArrayBuffer;
}

function toJsonName(dn: DistinguishedName): x509.JsonName {
  const name: x509.JsonName = [{ CN: [dn.commonName] }];
  if (dn.organizations && dn.organizations.length > 0) name.push({ O: [...dn.organizations] });
  return name;
}

function readName(name: x509.Name): DistinguishedName {
  const cn = name.getField('CN');
  return { commonName: cn[0] ?? '', organizations: name.getField('O') };
}

function sha256Hex(data: ArrayBuffer | Uint8Array): string {
  return createHash('sha256').update(new Uint8Array(data as ArrayBuffer)).digest('hex');
}

function toPem(der: ArrayBuffer, label: string): string {
  return x509.PemConverter.encode(der, label) + '\n';
}

export type KeyKind = 'ECDSA-P256' | 'ECDSA-P384' | 'Ed25519' | { readonly rsaBits: number };

const KEY_ALGORITHMS = {
  'ECDSA-P256': { generate: EC_ALG, sign: EC_SIGN },
  'ECDSA-P384': { generate: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } },
  Ed25519: { generate: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
} as const;

function algorithmsOf(kind: KeyKind): { generate: webcrypto.AlgorithmIdentifier | webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams; sign: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams } {
  if (typeof kind === 'string') return KEY_ALGORITHMS[kind];
  const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  return { generate: { ...rsa, modulusLength: kind.rsaBits, publicExponent: new Uint8Array([1, 0, 1]) } as webcrypto.RsaHashedKeyGenParams, sign: rsa };
}

/** ECDSA P-256 unless asked otherwise (Ed25519, or RSA of a given size for policy tests and old peers). */
export async function generateKeyPair(kind: KeyKind = 'ECDSA-P256'): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(algorithmsOf(kind).generate, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

function keyKindOf(key: CryptoKey): KeyKind {
  const alg = key.algorithm as { name: string; modulusLength?: number; namedCurve?: string };
  if (alg.name === 'Ed25519') return 'Ed25519';
  if (alg.namedCurve === 'P-384') return 'ECDSA-P384';
  if (alg.name.startsWith('RSA')) return { rsaBits: alg.modulusLength ?? 2048 };
  return 'ECDSA-P256';
}

export async function exportKeyPair(keys: CryptoKeyPair): Promise<KeyPairPem> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey);
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey as webcrypto.CryptoKey);
  return { privateKeyPem: toPem(pkcs8, 'PRIVATE KEY'), publicKeyPem: toPem(spki, 'PUBLIC KEY') };
}

/** Imports an ECDSA P-256 key pair from a PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY"). */
export async function importKeyPair(privateKeyPem: string): Promise<CryptoKeyPair> {
  const priv = createPrivateKey(privateKeyPem);
  const pkcs8 = priv.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_ALG, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, EC_ALG, true, ['verify']);
  return { privateKey, publicKey } as CryptoKeyPair;
}

export async function createSelfSignedCa(commonName: string, notBefore: Date, notAfter: Date): Promise<{ certPem: string; keys: CryptoKeyPair }> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: toJsonName({ commonName }),
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keys };
}

export interface IssueParams {
  readonly subject: DistinguishedName;
  /** PEM SubjectPublicKeyInfo, or the DER bytes of one. */
  readonly publicKey: string | ArrayBuffer;
  readonly caCertPem: string;
  readonly caKeys: CryptoKeyPair;
  readonly notBefore: Date;
  /** Capped at the CA's own notAfter: a chain is no longer valid than its issuer. */
  readonly notAfter: Date;
  readonly usage: 'client' | 'server';
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** The CA must stay valid this long from `now` (default 0: not expired). */
  readonly minValiditySeconds?: number;
  /** The moment the validity is measured from (default: the current time). */
  readonly now?: Date;
}

/** The client CA cannot sign a certificate worth having: it has expired or is about to. */
export class CaExpiringError extends PeerlogError {
  constructor(message: string) {
    super('CaExpiring', message, { retriable: false });
  }
}

/**
 * KeyUsage for a leaf's key: keyEncipherment only where the key can encrypt (RSA key transport);
 * RFC 5480 and RFC 8410 allow it neither for EC nor for Ed25519 keys.
 */
function leafKeyUsage(keyType: string | undefined): number {
  return x509.KeyUsageFlags.digitalSignature | (keyType === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0);
}

export async function issueCertificate(p: IssueParams): Promise<string> {
  const ca = new x509.X509Certificate(p.caCertPem);
  const now = p.now ?? new Date();
  const minMs = (p.minValiditySeconds ?? 0) * 1000;
  if (ca.notAfter.getTime() <= now.getTime() + minMs) {
    const when = ca.notAfter.getTime() <= now.getTime() ? 'expired' : 'expires';
    throw new CaExpiringError(`the CA ${ca.subject} ${when} at ${ca.notAfter.toISOString()}${minMs > 0 ? `, within the minimum validity of ${p.minValiditySeconds} s` : ''}: renew the CA (and its key) before issuing certificates`);
  }
  const notAfter = p.notAfter.getTime() > ca.notAfter.getTime() ? ca.notAfter : p.notAfter;
  const spki = typeof p.publicKey === 'string' ? x509.PemConverter.decodeFirst(p.publicKey) : p.publicKey;
  const keyType = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).asymmetricKeyType;
  const publicKey = await webcrypto.subtle.importKey('spki', spki, await publicKeyAlgorithm(spki), true, ['verify']);
  const caSubject = rawNamesOf(ca.rawData).subject;
  const caKeyId = ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(leafKeyUsage(keyType), true),
    new x509.ExtendedKeyUsageExtension([p.usage === 'client' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
    await x509.SubjectKeyIdentifierExtension.create(publicKey as CryptoKey),
    // The CA's own SKI, as verifiers match it; computed from its key only when the CA has none.
    caKeyId ? new x509.AuthorityKeyIdentifierExtension(caKeyId, false) : await x509.AuthorityKeyIdentifierExtension.create(ca, false),
  ];
  const sans = [
    ...(p.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(p.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    subject: toJsonName(p.subject),
    // The CA's subject exactly as encoded (UTF8String or PrintableString): verifiers such as Go's
    // crypto/x509 find the parent by comparing these bytes, so a re-encoded name finds none.
    issuer: new x509.Name(new Uint8Array(caSubject).buffer),
    publicKey: publicKey as CryptoKey,
    signingKey: p.caKeys.privateKey,
    notBefore: p.notBefore,
    notAfter,
    // The CA's own key type decides: kubeadm's client CAs are RSA, the local stack's are ECDSA.
    signingAlgorithm: algorithmsOf(keyKindOf(p.caKeys.privateKey as CryptoKey)).sign,
    extensions,
  });
  if (!rawNamesOf(cert.rawData).issuer.equals(caSubject)) throw new InternalError('CertificateIssuerMismatch', 'the issued certificate does not carry its CA\'s subject byte for byte');
  return cert.toString('pem') + '\n';
}

/** One DER TLV: where its header starts, where its content starts and where it ends. */
interface Tlv { readonly start: number; readonly content: number; readonly end: number; readonly tag: number }

function readTlv(der: Uint8Array, at: number): Tlv {
  const tag = der[at]!;
  let len = der[at + 1]!;
  let content = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new InternalError('CertificateInvalid', 'unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[content + i]!;
    content += n;
  }
  if (content + len > der.length) throw new InternalError('CertificateInvalid', 'truncated DER');
  return { start: at, content, end: content + len, tag };
}

/**
 * The issuer and subject Names of a DER certificate, as the very bytes it holds (what Go's
 * RawIssuer and RawSubject are): Certificate → TBSCertificate → [0] version?, serial, signature,
 * issuer, validity, subject.
 */
function rawNamesOf(certDer: ArrayBuffer): { issuer: Buffer; subject: Buffer } {
  const der = new Uint8Array(certDer);
  const tbs = readTlv(der, readTlv(der, 0).content);
  const fields: Tlv[] = [];
  for (let at = tbs.content; at < tbs.end && fields.length < 6; at = fields.at(-1)!.end) fields.push(readTlv(der, at));
  const i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const [issuer, , subject] = [fields[i + 2], fields[i + 3], fields[i + 4]];
  if (!issuer || !subject) throw new InternalError('CertificateInvalid', 'not a certificate');
  return { issuer: Buffer.from(der.subarray(issuer.start, issuer.end)), subject: Buffer.from(der.subarray(subject.start, subject.end)) };
}

async function publicKeyAlgorithm(spki: ArrayBuffer): Promise<webcrypto.AlgorithmIdentifier | webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams> {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  switch (key.asymmetricKeyType) {
    case 'ec': return { name: 'ECDSA', namedCurve: key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256' } as webcrypto.EcKeyImportParams;
    case 'ed25519': return { name: 'Ed25519' };
    case 'rsa': return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.RsaHashedImportParams;
    default: throw new InternalError('UnsupportedKey', `unsupported public key type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}

/** A PEM CSR for `subject`, signed with the private key of `keys` (ECDSA P-256, Ed25519 or RSA). */
export async function createCsr(subject: DistinguishedName | x509.JsonName, keys: CryptoKeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: Array.isArray(subject) ? subject : toJsonName(subject as DistinguishedName),
    keys,
    signingAlgorithm: algorithmsOf(keyKindOf(keys.privateKey as CryptoKey)).sign,
  });
  return csr.toString('pem') + '\n';
}

/**
 * Exactly one PEM CSR block and nothing else but whitespace: the parser reads the first block of
 * whatever it is given, so a second block (or anything after the first) would be ignored, not refused.
 */
const ONE_CSR_PEM = /^\s*-----BEGIN CERTIFICATE REQUEST-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE REQUEST-----\s*$/;

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const NAMED_OIDS: Readonly<Record<string, string>> = {
  '2.5.29.17': 'subjectAltName', '2.5.29.19': 'basicConstraints', '2.5.29.15': 'keyUsage', '2.5.29.37': 'extendedKeyUsage',
  '2.5.29.14': 'subjectKeyIdentifier', '2.5.29.30': 'nameConstraints', '1.2.840.113549.1.9.7': 'challengePassword',
};
const nameOfOid = (oid: string) => NAMED_OIDS[oid] ?? oid;

/** Parses a PEM CSR; throws on anything that is not one. */
export async function inspectCsr(pem: string): Promise<CsrInfo> {
  if (!ONE_CSR_PEM.test(pem)) throw new ValidationError('not exactly one PEM certificate request', { field: 'csr' });
  const csr = new x509.Pkcs10CertificateRequest(pem);
  const spkiDer = csr.publicKey.rawData;
  const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  const kind = key.asymmetricKeyType;
  const keyAlgorithm = kind === 'ec' ? 'ECDSA' : kind === 'ed25519' ? 'Ed25519' : kind === 'rsa' ? 'RSA' : 'other';
  const signatureValid = verifyCsrStrictly(csr.rawData, spkiDer);
  return {
    subject: readName(csr.subjectName),
    subjectAttributes: csr.subjectName.toJSON().flatMap((rdn) => Object.entries(rdn).flatMap(([type, values]) => values.map((v) => [type, v] as const))),
    signatureValid,
    keyAlgorithm,
    keyDetail: kind === 'ec' ? String(key.asymmetricKeyDetails?.namedCurve ?? '') : kind ?? '',
    rsaBits: kind === 'rsa' ? Number(key.asymmetricKeyDetails?.modulusLength ?? 0) : 0,
    rsaExponent: kind === 'rsa' ? Number(key.asymmetricKeyDetails?.publicExponent ?? 0) : 0,
    requestedAttributes: csr.attributes.flatMap((a) => (a.type === EXTENSION_REQUEST
      ? (csr.extensions.length > 0 ? csr.extensions.map((e) => nameOfOid(e.type)) : ['extensionRequest'])
      : [nameOfOid(a.type)])),
    publicKeyFingerprint: sha256Hex(spkiDer),
    publicKeyDer: spkiDer,
  };
}

/** Hash of each CSR signature algorithm peerlog accepts (null: the algorithm hashes itself). */
const CSR_SIGNATURE_HASHES: Readonly<Record<string, string | null>> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384', // ecdsa-with-SHA384
  '1.3.101.112': null, // Ed25519
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/**
 * True only for a CSR in canonical DER whose signature OpenSSL verifies. The ASN.1 parser accepts
 * loose encodings (wrong outer tags, lengths, unused bits) outside the signed part; a CSR that does
 * not re-encode to the very bytes received is refused rather than interpreted.
 */
function verifyCsrStrictly(raw: ArrayBuffer, spkiDer: ArrayBuffer): boolean {
  try {
    const asn = AsnConvert.parse(raw, CertificationRequest);
    if (!Buffer.from(AsnConvert.serialize(asn)).equals(Buffer.from(raw))) return false;
    const hash = CSR_SIGNATURE_HASHES[asn.signatureAlgorithm.algorithm];
    if (hash === undefined) return false;
    const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
    const tbs = Buffer.from(AsnConvert.serialize(asn.certificationRequestInfo));
    // OpenSSL insists on canonical DER inside ECDSA signatures too.
    return verifySignature(hash, tbs, { key, dsaEncoding: 'der' }, Buffer.from(asn.signature));
  } catch {
    return false;
  }
}

export function inspectCertificate(pem: string): CertificateInfo {
  const cert = new x509.X509Certificate(pem);
  return {
    subject: readName(cert.subjectName),
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprint: sha256Hex(cert.rawData),
    publicKeyFingerprint: sha256Hex(cert.publicKey.rawData),
  };
}

/** A self-signed serving certificate and its key, for an endpoint whose clients pin it by fingerprint. */
export async function createSelfSignedServerCert(p: {
  commonName: string; dnsNames: readonly string[]; ipAddresses: readonly string[]; notBefore: Date; notAfter: Date;
}): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeyPair();
  const sans = [...p.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...p.ipAddresses.map((value) => ({ type: 'ip' as const, value }))];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: toJsonName({ commonName: p.commonName }),
    keys,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(leafKeyUsage('ec'), true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: (await exportKeyPair(keys)).privateKeyPem };
}

/** SHA-256 of a PEM certificate's DER, lowercase hex: what a client pins. */
export function certificateFingerprint(pem: string): string {
  return sha256Hex(new x509.X509Certificate(pem).rawData);
}

/** The SPKI fingerprint of a PEM private key's public half (the same one inspectCsr reports). */
export function publicKeyFingerprintOf(privateKeyPem: string): string {
  return sha256Hex(createPublicKey(createPrivateKey(privateKeyPem)).export({ format: 'der', type: 'spki' }));
}

/** Imports any supported PEM private key (PKCS#8 or SEC1) as a WebCrypto key pair for signing. */
export async function importAnyKeyPair(privateKeyPem: string): Promise<CryptoKeyPair> {
  const priv = createPrivateKey(privateKeyPem);
  const pkcs8 = priv.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const curve = priv.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256';
  const alg = priv.asymmetricKeyType === 'ed25519' ? { name: 'Ed25519' } : priv.asymmetricKeyType === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: curve };
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
  return { privateKey, publicKey } as CryptoKeyPair;
}
