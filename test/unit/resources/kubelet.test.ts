// The containerLogs query as the kubelet reads it (Kubernetes v1.35: pkg/kubelet/server/server.go
// getContainerLogs, v1 PodLogOptions conversion and validation); expected values written out here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubeletEndpointStatus, parseLogQuery } from '../../../src/resources/kubelet.js';

const q = (s: string) => parseLogQuery(new URLSearchParams(s));
const plain = { follow: false, previous: false, timestamps: false };

test('what kube-apiserver sends for `kubectl logs --tail=5 -f --timestamps --limit-bytes=100` arrives as numbers and booleans', () => {
  assert.deepEqual(q(''), plain);
  assert.deepEqual(q('follow=true&tailLines=5&timestamps=true&limitBytes=100'), { ...plain, follow: true, timestamps: true, tailLines: 5, limitBytes: 100 });
  assert.deepEqual(q('previous=true&sinceSeconds=3600'), { ...plain, previous: true, sinceSeconds: 3600 });
  assert.deepEqual(q('sinceTime=2026-12-02T14%3A00%3A00Z'), { ...plain, sinceTime: '2026-12-02T14:00:00Z' });
  assert.deepEqual(q('stream=Stderr'), { ...plain, stream: 'Stderr' });
});

test('booleans are true unless absent, "0" or "false"; `tail` is the old name of tailLines and `tail=all` means none', () => {
  assert.deepEqual(q('follow=0&previous=FALSE&timestamps='), { ...plain, timestamps: true });
  assert.deepEqual(q('follow=yes'), { ...plain, follow: true });
  assert.deepEqual(q('tail=7&tailLines=3'), { ...plain, tailLines: 7 });
  assert.deepEqual(q('tail=all&tailLines=3'), plain);
  assert.deepEqual(q('tailLines=0'), { ...plain, tailLines: 0 });
  assert.deepEqual(q('tailLines=%2B4'), { ...plain, tailLines: 4 }, 'Go\'s ParseInt takes a sign');
  assert.deepEqual(q('container=other&insecureSkipTLSVerifyBackend=true&unknown=1'), plain, 'other parameters are ignored');
});

test('an undecodable value is 400 and an invalid one 422, with the kubelet\'s bodies', () => {
  const undecodable = { status: 400, message: '{"message": "Unable to decode query."}' };
  const invalid = { status: 422, message: '{"message": "Invalid request."}' };
  assert.deepEqual(q('tailLines=ten'), undecodable);
  assert.deepEqual(q('tailLines=1.5'), undecodable);
  assert.deepEqual(q('limitBytes=9223372036854775808'), undecodable, 'past int64');
  assert.deepEqual(q('sinceTime=yesterday'), undecodable);
  assert.deepEqual(q('tailLines=-1'), invalid);
  assert.deepEqual(q('limitBytes=0'), invalid);
  assert.deepEqual(q('sinceSeconds=0'), invalid);
  assert.deepEqual(q('sinceSeconds=5&sinceTime=2026-12-02T14:00:00Z'), invalid);
  assert.deepEqual(q('stream=Both'), invalid);
  assert.deepEqual(q('stream=Stdout&tailLines=2'), invalid);
});

test('kubeletEndpointStatus gives the node the address and the capital-P Port kube-apiserver reads', () => {
  assert.deepEqual(kubeletEndpointStatus({ address: '127.0.0.1', port: 10250 }), {
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
  });
});
