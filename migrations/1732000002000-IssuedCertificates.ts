// Certificates a provider signed, kept so that a consumer retrying with the same key gets the very
// certificate the log recorded (CertIssued names it by fingerprint). Certificates are public data.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class IssuedCertificates1732000002000 implements MigrationInterface {
  name = 'IssuedCertificates1732000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create table peerlog_issued_certificates (
        cert_fingerprint       char(64) primary key,
        remote_cluster_id      text not null,
        public_key_fingerprint char(64) not null,
        serial_number          text not null,
        not_after              timestamptz not null,
        pem                    text not null,
        issued_at              timestamptz not null default now()
      )`);
    await q.query('create index peerlog_issued_certificates_remote on peerlog_issued_certificates (remote_cluster_id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('drop table peerlog_issued_certificates');
  }
}
