// The kubelet API's settings: a fixed port (virtual nodes announce it in their status) and an IP
// address to announce, from flags or PEERLOG_* variables, refused at start naming the setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, sourceFrom } from '../../src/config.js';

const base = { 'cluster-id': 'c1', 'kafka-brokers': '127.0.0.1:1', 'database-url': 'postgres://u@h:1/d' };
const load = (flags: Record<string, string>, env: Record<string, string> = {}) => loadConfig(sourceFrom({ ...base, ...flags }, env));
const kubelet = (c: ReturnType<typeof load>) => ({ port: c.kubeletPort, host: c.kubeletHost, address: c.kubeletAddress });
const refused = (setting: string, text: RegExp) => (e: Error & { field?: string }) => e.field === setting && e.message.startsWith(`setting ${setting}: `) && text.test(e.message);

test('the kubelet API listens on 127.0.0.1:10250 by default and the virtual nodes announce that address', () => {
  assert.deepEqual(kubelet(load({})), { port: 10250, host: '127.0.0.1', address: '127.0.0.1' });
});

test('--kubelet-port, --kubelet-host, --kubelet-address and their PEERLOG_* variables set it; a flag wins over its variable', () => {
  assert.deepEqual(kubelet(load({ 'kubelet-port': '24252', 'kubelet-host': '10.0.0.7' })), { port: 24252, host: '10.0.0.7', address: '10.0.0.7' });
  assert.deepEqual(kubelet(load({}, { PEERLOG_KUBELET_PORT: '11250', PEERLOG_KUBELET_HOST: '0.0.0.0', PEERLOG_KUBELET_ADDRESS: '192.168.1.20' })),
    { port: 11250, host: '0.0.0.0', address: '192.168.1.20' });
  assert.equal(load({ 'kubelet-port': '12000' }, { PEERLOG_KUBELET_PORT: '11250' }).kubeletPort, 12000);
});

test('a port that is not fixed, or not a port, is refused naming the setting', () => {
  for (const bad of ['0', '70000', '-1', 'http', '10250.5']) {
    assert.throws(() => load({ 'kubelet-port': bad }), refused('kubelet-port', /is not a fixed TCP port/), bad);
  }
  assert.throws(() => load({}, { PEERLOG_KUBELET_PORT: 'x' }), refused('kubelet-port', /^setting kubelet-port: "x" is not a fixed TCP port/));
  assert.throws(() => load({ 'kubelet-port': '24601', 'auth-port': '24601' }), refused('kubelet-port', /24601 is the authentication endpoint's port too/));
  // On different addresses the same port is two sockets.
  assert.equal(load({ 'kubelet-port': '24601', 'auth-port': '24601', 'kubelet-host': '127.0.0.2' }).kubeletPort, 24601);
});

test('an address to announce must be an IP address, and a wildcard host needs one', () => {
  assert.throws(() => load({ 'kubelet-address': 'node-1.example' }), refused('kubelet-address', /"node-1.example" is not an IP address/));
  assert.throws(() => load({ 'kubelet-host': 'localhost' }), refused('kubelet-host', /"localhost" is not an IP address/));
  assert.throws(() => load({ 'kubelet-host': '0.0.0.0' }), refused('kubelet-address', /missing: the kubelet API listens on 0\.0\.0\.0/));
  assert.equal(load({ 'kubelet-host': '::', 'kubelet-address': 'fd00::5' }).kubeletAddress, 'fd00::5');
});

test('without --ca-key identities are signed through the Kubernetes CSR API by the kube-apiserver-client signer, within 10 s', () => {
  const c = load({});
  assert.deepEqual([c.signer, c.caKey, c.csrSignerName, c.csrSigningTimeoutSeconds], ['csr-api', undefined, 'kubernetes.io/kube-apiserver-client', 10]);
  const named = load({ 'csr-signer-name': 'example.com/peers', 'csr-signing-timeout': '500ms' });
  assert.deepEqual([named.csrSignerName, named.csrSigningTimeoutSeconds], ['example.com/peers', 0.5]);
  assert.equal(load({}, { PEERLOG_CSR_SIGNING_TIMEOUT: '3s' }).csrSigningTimeoutSeconds, 3);
});

test('a signer name that is not <domain>/<path>, or a deadline the endpoint could not wait for, is refused naming the setting', () => {
  for (const bad of ['kube-apiserver-client', 'Example.com/x', '/x', 'example.com/']) {
    assert.throws(() => load({ 'csr-signer-name': bad }), refused('csr-signer-name', /is not a signerName/), bad);
  }
  // The endpoint answers a request within 15 s: the signer's deadline must leave room for the rest.
  assert.throws(() => load({ 'csr-signing-timeout': '15s' }), refused('csr-signing-timeout', /not between 0 and 14 seconds/));
  assert.throws(() => load({ 'csr-signing-timeout': 'soon' }), refused('csr-signing-timeout', /./));
});
