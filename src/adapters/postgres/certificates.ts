// The provider's store of certificates it signed (see migration IssuedCertificates).
import type { DataSource } from 'typeorm';
import type { StoredCertificate } from '../../auth/provider.js';

/** What the provider keeps of a certificate it signed: the shape its port defines. */
export type IssuedCertificate = StoredCertificate;

export interface CertificateStore {
  /** Saved before CertIssued is appended, so that every certificate the log names can be found. */
  save(cert: IssuedCertificate): Promise<void>;
  find(certFingerprint: string): Promise<IssuedCertificate | undefined>;
}

export function createCertificateStore(ds: DataSource): CertificateStore {
  return {
    async save(c) {
      await ds.query(
        `insert into peerlog_issued_certificates (cert_fingerprint, remote_cluster_id, public_key_fingerprint, serial_number, not_after, pem)
         values ($1, $2, $3, $4, $5, $6) on conflict (cert_fingerprint) do nothing`,
        [c.certFingerprint, c.remoteClusterId, c.publicKeyFingerprint, c.serialNumber, c.notAfter, c.pem]);
    },
    async find(fp) {
      const rows = await ds.query(
        `select cert_fingerprint, remote_cluster_id, public_key_fingerprint, serial_number, not_after, pem
         from peerlog_issued_certificates where cert_fingerprint = $1`, [fp]) as Record<string, string | Date>[];
      const r = rows[0];
      if (!r) return undefined;
      return {
        certFingerprint: String(r.cert_fingerprint), remoteClusterId: String(r.remote_cluster_id),
        publicKeyFingerprint: String(r.public_key_fingerprint), serialNumber: String(r.serial_number),
        notAfter: new Date(r.not_after as Date).toISOString(), pem: String(r.pem),
      };
    },
  };
}
