import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csrFingerprint, forgeApprovalCondition, forgeIdentityCsr, identityCsrName, identityCsrSelector } from '../../../src/resources/csr.js';

// Made with `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=peerlog:cluster:alpha-1:1/O=peerlog:peers"`;
// its DER's SHA-256 is `openssl req -in u.csr -outform DER | sha256sum`, its base64 `base64 -w0 u.csr`.
const CSR_PEM = `-----BEGIN CERTIFICATE REQUEST-----
MIH2MIGeAgEAMDwxIjAgBgNVBAMMGXBlZXJsb2c6Y2x1c3RlcjphbHBoYS0xOjEx
FjAUBgNVBAoMDXBlZXJsb2c6cGVlcnMwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAQs4Wayf7i7egZLRUI6AEEwbKR8Rw3ukskhNyzHkRBAN8szs07M81Xq3FyNezrK
NR2MrZfr0VLKO1mu31ACwOWRoAAwCgYIKoZIzj0EAwIDRwAwRAIgGDJH/GikEMzw
uqVHj76Y+oP/VQ7qTZ6PDIA+BMfH4m8CIEQucjosT1qOks5Siv+/6ED2NT8wsvWg
jX16sX6zRc/8
-----END CERTIFICATE REQUEST-----
`;
const DER_SHA256 = 'a59157e551aea22c1b8087ed376f2bc546b179d0ecd3b47a2f042cebacc2d85d';
const PEM_BASE64 = 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0KTUlIMk1JR2VBZ0VBTUR3eElqQWdCZ05WQkFNTUdYQmxaWEpzYjJjNlkyeDFjM1JsY2pwaGJIQm9ZUzB4T2pFeApGakFVQmdOVkJBb01EWEJsWlhKc2IyYzZjR1ZsY25Nd1dUQVRCZ2NxaGtqT1BRSUJCZ2dxaGtqT1BRTUJCd05DCkFBUXM0V2F5ZjdpN2VnWkxSVUk2QUVFd2JLUjhSdzN1a3NraE55ekhrUkJBTjhzenMwN004MVhxM0Z5TmV6cksKTlIyTXJaZnIwVkxLTzFtdTMxQUN3T1dSb0FBd0NnWUlLb1pJemowRUF3SURSd0F3UkFJZ0dESkgvR2lrRU16dwp1cVZIajc2WStvUC9WUTdxVFo2UERJQStCTWZING04Q0lFUXVjam9zVDFxT2tzNVNpdisvNkVEMk5UOHdzdldnCmpYMTZzWDZ6UmMvOAotLS0tLUVORCBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K';

describe('identity CertificateSigningRequests', () => {
  it('are named from the signing cluster and the CSR DER fingerprint, the same every time', () => {
    assert.equal(csrFingerprint(CSR_PEM), DER_SHA256);
    assert.equal(identityCsrName('beta', CSR_PEM), `peerlog-beta-${DER_SHA256.slice(0, 40)}`);
    // Line breaks and CRLF do not change the DER, so not the name either.
    assert.equal(identityCsrName('beta', CSR_PEM.replace(/\n/g, '\r\n')), `peerlog-beta-${DER_SHA256.slice(0, 40)}`);
    assert.notEqual(identityCsrName('gamma', CSR_PEM), identityCsrName('beta', CSR_PEM));
    // The longest cluster id still gives a DNS subdomain.
    const longest = identityCsrName('a'.repeat(63), CSR_PEM);
    assert.equal(longest.length, 8 + 63 + 1 + 40);
    assert.match(longest, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('are found by the labels of the control plane that made them', () => {
    assert.equal(identityCsrSelector('beta'), 'peerlog.dev/type=identity-csr,peerlog.dev/cluster-id=beta');
  });

  it('refuse what is not a PEM CSR', () => {
    assert.throws(() => csrFingerprint('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /CERTIFICATE REQUEST/);
  });

  it('are forged for the kube-apiserver-client signer, client auth, expiring with the policy, labelled for cleanup', () => {
    assert.deepEqual(forgeIdentityCsr({ clusterId: 'beta', remoteClusterId: 'alpha-1', csrPem: CSR_PEM, validitySeconds: 7776000, lifetime: 1 }), {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: {
        name: `peerlog-beta-${DER_SHA256.slice(0, 40)}`,
        labels: {
          'app.kubernetes.io/managed-by': 'peerlog',
          'peerlog.dev/type': 'identity-csr',
          'peerlog.dev/cluster-id': 'beta',
          'peerlog.dev/remote-cluster-id': 'alpha-1',
        },
      },
      spec: {
        request: PEM_BASE64,
        signerName: 'kubernetes.io/kube-apiserver-client',
        expirationSeconds: 7776000,
        usages: ['digital signature', 'client auth'],
      },
    });
  });

  it('carry the signer an operator configured', () => {
    const forged = forgeIdentityCsr({ clusterId: 'beta', remoteClusterId: 'alpha-1', csrPem: CSR_PEM, validitySeconds: 600, lifetime: 1, signerName: 'example.com/peers' });
    assert.equal((forged.spec as { signerName: string }).signerName, 'example.com/peers');
    assert.equal((forged.spec as { expirationSeconds: number }).expirationSeconds, 600);
  });

  it('refuse a lifetime the Kubernetes API would refuse (below 600 s, not whole)', () => {
    for (const validitySeconds of [599, 0, 600.5]) {
      assert.throws(() => forgeIdentityCsr({ clusterId: 'beta', remoteClusterId: 'alpha-1', csrPem: CSR_PEM, validitySeconds, lifetime: 1 }), /expirationSeconds/);
    }
  });

  it('are approved with reason PeerlogPolicy and a message naming the peering', () => {
    assert.deepEqual(forgeApprovalCondition({ clusterId: 'beta', remoteClusterId: 'alpha-1', lifetime: 3, now: new Date('2026-12-03T12:00:00Z') }), {
      type: 'Approved',
      status: 'True',
      reason: 'PeerlogPolicy',
      message: 'peerlog on cluster beta approved the identity of the peering with alpha-1 (lifetime 3): token or renewal proof and CSR policy checked',
      lastUpdateTime: '2026-12-03T12:00:00.000Z',
    });
  });
});
