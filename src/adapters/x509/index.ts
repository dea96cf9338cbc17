// X.509 adapter: key pairs, CSRs and certificates through @peculiar/x509 on Node's WebCrypto.
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import { webcrypto, createHash, createPrivateKey, createPublicKey, verify as verifySignature } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';

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
  readonly notAfter: Date;
  readonly usage: 'client' | 'server';
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

export async function issueCertificate(p: IssueParams): Promise<string> {
  const ca = new x509.X509Certificate(p.caCertPem);
  const spki = typeof p.publicKey === 'string' ? x509.PemConverter.decodeFirst(p.publicKey) : p.publicKey;
  const publicKey = await webcrypto.subtle.importKey('spki', spki, await publicKeyAlgorithm(spki), true, ['verify']);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([p.usage === 'client' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca, false),
  ];
  const sans = [
    ...(p.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(p.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    subject: toJsonName(p.subject),
    issuer: ca.subjectName.toJSON(),
    publicKey: publicKey as CryptoKey,
    signingKey: p.caKeys.privateKey,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    // The CA's own key type decides: kubeadm's client CAs are RSA, the local stack's are ECDSA.
    signingAlgorithm: algorithmsOf(keyKindOf(p.caKeys.privateKey as CryptoKey)).sign,
    extensions,
  });
  return cert.toString('pem') + '\n';
}

async function publicKeyAlgorithm(spki: ArrayBuffer): Promise<webcrypto.AlgorithmIdentifier | webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams> {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  switch (key.asymmetricKeyType) {
    case 'ec': return { name: 'ECDSA', namedCurve: key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256' } as webcrypto.EcKeyImportParams;
    case 'ed25519': return { name: 'Ed25519' };
    case 'rsa': return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.RsaHashedImportParams;
    default: throw new Error(`unsupported public key type ${key.asymmetricKeyType ?? 'unknown'}`);
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

/** Parses a PEM CSR; throws on anything that is not one. */
export async function inspectCsr(pem: string): Promise<CsrInfo> {
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
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
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
