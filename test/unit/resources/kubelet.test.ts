// The containerLogs query as the kubelet reads it (Kubernetes v1.35: pkg/kubelet/server/server.go
// getContainerLogs, v1 PodLogOptions conversion and validation); expected values written out here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubeletEndpointStatus, parseLogQuery, podLogPath } from '../../../src/resources/kubelet.js';

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

test('podLogPath asks the provider for the twin\'s log with the request\'s options, and only those set', () => {
  assert.equal(podLogPath({ namespace: 'web-alpha', pod: 'web-1', container: 'main', options: plain }),
    '/api/v1/namespaces/web-alpha/pods/web-1/log?container=main');
  assert.equal(podLogPath({
    namespace: 'web-alpha', pod: 'web-1', container: 'main',
    options: { follow: true, previous: true, timestamps: true, tailLines: 0, sinceSeconds: 3600, limitBytes: 100, stream: 'Stderr' },
  }), '/api/v1/namespaces/web-alpha/pods/web-1/log?container=main&follow=true&previous=true&timestamps=true&tailLines=0&sinceSeconds=3600&limitBytes=100&stream=Stderr');
  assert.equal(podLogPath({ namespace: 'n', pod: 'p', container: 'c', options: { ...plain, sinceTime: '2026-12-02T14:00:00Z' } }),
    '/api/v1/namespaces/n/pods/p/log?container=c&sinceTime=2026-12-02T14%3A00%3A00Z');
  // What the kubelet request carries besides the options (its namespace, pod) is not sent as a parameter.
  assert.equal(podLogPath({ namespace: 'n', pod: 'p', container: 'c', options: { namespace: 'local', pod: 'local-pod', container: 'x', ...plain, tailLines: 2 } as never }),
    '/api/v1/namespaces/n/pods/p/log?container=c&tailLines=2');
});
