// The Kafka and PostgreSQL clients' TLS and SASL options made from the settings: files read through
// the reader given (no disk here), libpq's meaning of each sslmode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaSecurityOptions } from '../../../src/adapters/kafka/client.js';
import { pgConnection } from '../../../src/adapters/postgres/tls.js';

const files: Record<string, string> = { '/ca': 'CA PEM', '/crt': 'CERT PEM', '/key': 'KEY PEM', '/pw': 'from-file\n' };
const read = (p: string) => { const v = files[p]; if (v === undefined) throw new Error(`ENOENT: ${p}`); return v; };

test('Kafka: nothing asked gives no ssl and no sasl', () => {
  assert.deepEqual(kafkaSecurityOptions({ kafkaTls: undefined, kafkaSasl: undefined }, read), {});
});

test('Kafka: TLS with a CA and a client certificate, SASL with a password file (its trailing newline dropped)', () => {
  assert.deepEqual(kafkaSecurityOptions({
    kafkaTls: { ca: '/ca', cert: '/crt', key: '/key' },
    kafkaSasl: { mechanism: 'scram-sha-512', username: 'peerlog', password: { file: '/pw' } },
  }, read), {
    ssl: { rejectUnauthorized: true, ca: ['CA PEM'], cert: 'CERT PEM', key: 'KEY PEM' },
    sasl: { mechanism: 'scram-sha-512', username: 'peerlog', password: 'from-file' },
  });
  assert.deepEqual(kafkaSecurityOptions({ kafkaTls: { ca: undefined, cert: undefined, key: undefined }, kafkaSasl: { mechanism: 'plain', username: 'u', password: { value: 'p' } } }, read),
    { ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'plain', username: 'u', password: 'p' } });
});

test('Kafka: a file that cannot be read is named by its setting', () => {
  assert.throws(() => kafkaSecurityOptions({ kafkaTls: { ca: '/missing', cert: undefined, key: undefined }, kafkaSasl: undefined }, read),
    (e: Error & { field?: string }) => e.field === 'kafka-ca' && /^setting kafka-ca: cannot read \/missing/.test(e.message));
});

test('PostgreSQL: a URL without TLS parameters is passed as is, without TLS', () => {
  assert.deepEqual(pgConnection('postgres://u@h:1/d', read), { connectionString: 'postgres://u@h:1/d', ssl: false });
});

test('PostgreSQL: each sslmode as libpq means it, the TLS parameters taken out of the URL', () => {
  const c = (q: string) => pgConnection(`postgresql://app:pw@db:5432/app?${q}`, read);
  assert.deepEqual(c('sslmode=disable'), { connectionString: 'postgresql://app:pw@db:5432/app', ssl: false });
  assert.deepEqual(c('sslmode=require'), { connectionString: 'postgresql://app:pw@db:5432/app', ssl: { rejectUnauthorized: false } });
  assert.deepEqual(c('sslmode=verify-full'), { connectionString: 'postgresql://app:pw@db:5432/app', ssl: { rejectUnauthorized: true } });
  assert.deepEqual(c('sslmode=verify-full&sslrootcert=%2Fca&application_name=x'), { connectionString: 'postgresql://app:pw@db:5432/app?application_name=x', ssl: { ca: 'CA PEM', rejectUnauthorized: true } });
  // verify-ca, and require with a CA: the chain is checked, the host name is not.
  for (const q of ['sslmode=verify-ca&sslrootcert=%2Fca', 'sslmode=require&sslrootcert=%2Fca']) {
    const { ssl } = c(q);
    assert.ok(ssl);
    assert.equal(ssl.ca, 'CA PEM');
    assert.equal(ssl.rejectUnauthorized, true);
    assert.equal(ssl.checkServerIdentity?.(), undefined);
    assert.equal(typeof ssl.checkServerIdentity, 'function', q);
  }
  assert.throws(() => c('sslmode=verify-full&sslrootcert=%2Fnone'), (e: Error & { field?: string }) => e.field === 'database-ca');
});
