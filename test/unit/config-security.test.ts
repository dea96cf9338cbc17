// TLS and SASL to Kafka and TLS to PostgreSQL: parsed from flags or PEERLOG_* variables into literal
// settings, and combinations that could not connect (or would send a password in clear) refused
// at start naming the setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, sourceFrom } from '../../src/config.js';

const base = { 'cluster-id': 'c1', 'kafka-brokers': 'k:9093', 'database-url': 'postgres://u@h:1/d' };
const load = (flags: Record<string, string | boolean>, env: Record<string, string> = {}) => loadConfig(sourceFrom({ ...base, ...flags }, env));
const kafka = (c: ReturnType<typeof load>) => ({ tls: c.kafkaTls, sasl: c.kafkaSasl });
const refused = (setting: string, text: RegExp) => (e: Error & { field?: string }) => e.field === setting && e.message.startsWith(`setting ${setting}: `) && text.test(e.message);

test('Kafka is plaintext with no SASL unless asked', () => {
  assert.deepEqual(kafka(load({})), { tls: undefined, sasl: undefined });
});

test('--kafka-tls alone uses the system CAs; a CA or a client certificate implies TLS', () => {
  assert.deepEqual(load({ 'kafka-tls': true }).kafkaTls, { ca: undefined, cert: undefined, key: undefined });
  assert.deepEqual(load({}, { PEERLOG_KAFKA_TLS: 'true' }).kafkaTls, { ca: undefined, cert: undefined, key: undefined });
  assert.deepEqual(load({ 'kafka-ca': '/tls/ca.crt' }).kafkaTls, { ca: '/tls/ca.crt', cert: undefined, key: undefined });
  assert.deepEqual(load({}, { PEERLOG_KAFKA_CA: '/tls/ca.crt', PEERLOG_KAFKA_CERT: '/tls/user.crt', PEERLOG_KAFKA_KEY: '/tls/user.key' }).kafkaTls,
    { ca: '/tls/ca.crt', cert: '/tls/user.crt', key: '/tls/user.key' });
});

test('SASL takes its mechanism, username, and a password from the environment or a file', () => {
  assert.deepEqual(load({ 'kafka-sasl-mechanism': 'scram-sha-512', 'kafka-sasl-username': 'peerlog' }, { PEERLOG_KAFKA_SASL_PASSWORD: 's3cret' }).kafkaSasl,
    { mechanism: 'scram-sha-512', username: 'peerlog', password: { value: 's3cret' } });
  assert.deepEqual(load({}, { PEERLOG_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', PEERLOG_KAFKA_SASL_USERNAME: 'u', PEERLOG_KAFKA_SASL_PASSWORD_FILE: '/sasl/password' }).kafkaSasl,
    { mechanism: 'scram-sha-256', username: 'u', password: { file: '/sasl/password' } });
  assert.deepEqual(kafka(load({ 'kafka-tls': true, 'kafka-sasl-mechanism': 'plain', 'kafka-sasl-username': 'u', 'kafka-sasl-password-file': '/p' })),
    { tls: { ca: undefined, cert: undefined, key: undefined }, sasl: { mechanism: 'plain', username: 'u', password: { file: '/p' } } });
});

test('bad Kafka combinations are refused naming the setting', () => {
  assert.throws(() => load({ 'kafka-cert': '/c' }), refused('kafka-key', /give both --kafka-cert and --kafka-key/));
  assert.throws(() => load({ 'kafka-key': '/k' }), refused('kafka-cert', /give both/));
  assert.throws(() => load({ 'kafka-tls': false, 'kafka-ca': '/ca' }), refused('kafka-tls', /false, but --kafka-ca or --kafka-cert is given/));
  assert.throws(() => load({}, { PEERLOG_KAFKA_TLS: 'yes' }), refused('kafka-tls', /"yes" is neither true nor false/));
  assert.throws(() => load({ 'kafka-sasl-username': 'u' }), refused('kafka-sasl-mechanism', /^setting kafka-sasl-mechanism: missing/));
  assert.throws(() => load({ 'kafka-sasl-mechanism': 'gssapi', 'kafka-sasl-username': 'u' }, { PEERLOG_KAFKA_SASL_PASSWORD: 'p' }),
    refused('kafka-sasl-mechanism', /"gssapi" is not one of plain, scram-sha-256, scram-sha-512/));
  assert.throws(() => load({ 'kafka-sasl-mechanism': 'scram-sha-256' }, { PEERLOG_KAFKA_SASL_PASSWORD: 'p' }), refused('kafka-sasl-username', /needs a username/));
  assert.throws(() => load({ 'kafka-sasl-mechanism': 'scram-sha-256', 'kafka-sasl-username': 'u' }), refused('kafka-sasl-password-file', /needs a password/));
  assert.throws(() => load({ 'kafka-sasl-mechanism': 'scram-sha-256', 'kafka-sasl-username': 'u', 'kafka-sasl-password-file': '/p' }, { PEERLOG_KAFKA_SASL_PASSWORD: 'p' }),
    refused('kafka-sasl-password-file', /keep one/));
  assert.throws(() => load({ 'kafka-sasl-mechanism': 'plain', 'kafka-sasl-username': 'u' }, { PEERLOG_KAFKA_SASL_PASSWORD: 'p' }),
    refused('kafka-sasl-mechanism', /plain sends the password as is: it needs TLS/));
});

test('the database URL carries its TLS settings; --database-sslmode and --database-ca add them to a URL that has none', () => {
  assert.equal(load({}).databaseUrl, 'postgres://u@h:1/d');
  assert.equal(load({ 'database-url': 'postgresql://app:pw@db-rw.ns:5432/app?sslmode=verify-full' }).databaseUrl, 'postgresql://app:pw@db-rw.ns:5432/app?sslmode=verify-full');
  // CloudNativePG's `uri` key has no sslmode: the settings add it.
  assert.equal(load({ 'database-url': 'postgresql://app:pw@db-rw.ns:5432/app' }, { PEERLOG_DATABASE_SSLMODE: 'verify-ca', PEERLOG_DATABASE_CA: '/pg/ca.crt' }).databaseUrl,
    'postgresql://app:pw@db-rw.ns:5432/app?sslmode=verify-ca&sslrootcert=%2Fpg%2Fca.crt');
  assert.equal(load({ 'database-ca': '/pg/ca.crt' }).databaseUrl, 'postgres://u@h:1/d?sslmode=verify-full&sslrootcert=%2Fpg%2Fca.crt');
  assert.equal(load({ 'database-sslmode': 'require' }).databaseUrl, 'postgres://u@h:1/d?sslmode=require');
  assert.equal(load({ 'database-url': 'postgres://u@h:1/d?sslmode=require', 'database-sslmode': 'require' }).databaseUrl, 'postgres://u@h:1/d?sslmode=require');
});

test('bad PostgreSQL TLS combinations are refused naming the setting', () => {
  assert.throws(() => load({ 'database-sslmode': 'prefer' }), refused('database-sslmode', /"prefer" is not one of disable, require, verify-ca, verify-full/));
  assert.throws(() => load({ 'database-url': 'postgres://u@h:1/d?sslmode=allow' }), refused('database-url', /"allow" is not one of/));
  assert.throws(() => load({ 'database-url': 'postgres://u@h:1/d?sslmode=require', 'database-sslmode': 'verify-full' }), refused('database-sslmode', /contradicts the URL's sslmode=require/));
  assert.throws(() => load({ 'database-sslmode': 'verify-ca' }), refused('database-ca', /^setting database-ca: missing: sslmode verify-ca/));
  assert.throws(() => load({ 'database-sslmode': 'disable', 'database-ca': '/ca' }), refused('database-sslmode', /sslmode disable, but a CA/));
  assert.throws(() => load({ 'database-url': 'postgres://u@h:1/d?sslrootcert=/a', 'database-ca': '/b' }), refused('database-ca', /\/b contradicts the URL's sslrootcert=\/a/));
  assert.throws(() => load({ 'database-url': 'postgres://u@h:1/d?sslcert=/c' }), refused('database-url', /client certificates to PostgreSQL are not supported/));
  assert.throws(() => load({ 'database-url': 'postgres://u@h:1/d?ssl=true' }), refused('database-url', /say sslmode=/));
});

test('without --kubeconfig a control plane needs to be in a pod, where it uses its ServiceAccount', () => {
  const src = sourceFrom(base, {});
  assert.equal(loadConfig(src, { kubernetes: true }, true).kubeconfig, undefined);
  assert.throws(() => loadConfig(src, { kubernetes: true }, false), refused('kubeconfig', /missing \(and not in a pod: KUBERNETES_SERVICE_HOST is unset/));
});
