import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { DNS_LABEL_PATTERN } from '../../../src/events/constants.js';
import { identityCommonNameFor, identityUserFor, isIdentityUserOf, remoteNamespaceFor, tenantNamespaceFor, virtualNodeNameFor } from '../../../src/resources/names.js';

const hash16 = (id: string): string => createHash('sha256').update(id).digest('hex').slice(0, 16);

describe('tenantNamespaceFor', () => {
  for (const id of ['beta', 'beta-7f3c', '0', 'a1-b2-c3']) {
    it(`maps the plain id ${id} to peerlog-tenant-${id}`, () => assert.equal(tenantNamespaceFor(id), `peerlog-tenant-${id}`));
  }

  it('keeps a plain id of 48 characters, the longest that fits, as it is', () => {
    const id = 'a'.repeat(48);
    assert.equal(tenantNamespaceFor(id), `peerlog-tenant-${id}`);
    assert.equal(tenantNamespaceFor(id).length, 63);
  });

  const hashed: ReadonlyArray<readonly [string, string]> = [
    ['upper case', 'Beta'],
    ['a dot', 'beta.eu'],
    ['an underscore', 'beta_eu'],
    ['49 characters', 'a'.repeat(49)],
    ['63 characters', 'b'.repeat(63)],
    ['everything at once', `Prod.EU_${'x'.repeat(55)}`],
  ];
  for (const [name, id] of hashed) {
    it(`adds a '--' and a 16-hex hash suffix to an id with ${name}`, () => {
      const ns = tenantNamespaceFor(id);
      assert.match(ns, /^peerlog-tenant-.*--[0-9a-f]{16}$/);
      assert.ok(ns.endsWith(`--${hash16(id)}`), `${ns} ends with the hash of ${id}`);
      assert.ok(ns.length <= 63, `${ns} has ${ns.length} characters`);
      assert.match(ns, DNS_LABEL_PATTERN);
    });
  }

  it('gives the readable part of a hashed id in lower case with dashes', () => {
    assert.equal(tenantNamespaceFor('Prod.EU_west'), `peerlog-tenant-prod-eu-west--${hash16('Prod.EU_west')}`);
  });

  it('does not leave a triple dash where a cut falls after a dash', () => {
    // 30 characters of the id fit before the suffix; the 30th is a '-'.
    const id = `${'a'.repeat(29)}-${'b'.repeat(30)}`;
    const ns = tenantNamespaceFor(id);
    assert.equal(ns, `peerlog-tenant-${'a'.repeat(29)}--${hash16(id)}`);
    assert.match(ns, DNS_LABEL_PATTERN);
  });

  it('hashes a plain-looking id holding "--", so that it cannot pose as a hashed name', () => {
    assert.match(tenantNamespaceFor('a--b'), /--[0-9a-f]{16}$/);
  });

  it('always gives a valid DNS label of at most 63 characters', () => {
    const ids = [
      'a', 'A', 'Z9', 'a.b', 'a_b', 'a-b', 'A.B_C-D', '0.0.0.0', 'a'.repeat(63), 'A'.repeat(63),
      `a${'.'.repeat(61)}a`, `a${'_'.repeat(61)}z`, `a${'-'.repeat(61)}a`, `X${'-'.repeat(47)}y`,
    ];
    for (const id of ids) {
      const ns = tenantNamespaceFor(id);
      assert.ok(ns.length <= 63, `${id} -> ${ns}`);
      assert.match(ns, DNS_LABEL_PATTERN, `${id} -> ${ns}`);
    }
  });

  it('maps ids differing only in case to different namespaces', () => {
    const names = new Set(['beta', 'Beta', 'BETA', 'bEtA'].map(tenantNamespaceFor));
    assert.equal(names.size, 4);
  });

  it('maps ids differing only in ".", "_" or "-" to different namespaces', () => {
    const names = new Set(['beta-eu', 'beta.eu', 'beta_eu'].map(tenantNamespaceFor));
    assert.equal(names.size, 3);
  });

  it('maps long ids sharing their first 48 characters to different namespaces', () => {
    const head = 'c'.repeat(50);
    assert.notEqual(tenantNamespaceFor(`${head}1`), tenantNamespaceFor(`${head}2`));
  });

  // Plain names never hold '--' and hashed ones always do: 'A' and 'a--<hash of A>' cannot collide.
  it('never maps a plain id onto the hashed namespace of another id', () => {
    for (const id of ['A', 'Beta', 'x'.repeat(60)]) {
      const hashedNs = tenantNamespaceFor(id);
      const impostor = hashedNs.slice('peerlog-tenant-'.length);
      assert.notEqual(tenantNamespaceFor(impostor), hashedNs, `${id} and ${impostor} share ${hashedNs}`);
    }
  });

  it('is deterministic', () => {
    assert.equal(tenantNamespaceFor('Prod.EU_west'), tenantNamespaceFor('Prod.EU_west'));
  });
});

describe('identityCommonNameFor', () => {
  it('is the CN prefix followed by the cluster id, unchanged', () => {
    assert.equal(identityCommonNameFor('beta-7f3c'), 'peerlog:cluster:beta-7f3c');
    assert.equal(identityCommonNameFor('Prod.EU_west'), 'peerlog:cluster:Prod.EU_west');
  });
});

describe('identityUserFor', () => {
  it('adds the identity lifetime after a colon', () => {
    assert.equal(identityUserFor('beta-7f3c', 1), 'peerlog:cluster:beta-7f3c:1');
    assert.equal(identityUserFor('Prod.EU_west', 42), 'peerlog:cluster:Prod.EU_west:42');
  });

  it('gives every lifetime of one cluster its own user', () => {
    const users = new Set([1, 2, 3, 10, 11].map((n) => identityUserFor('beta', n)));
    assert.equal(users.size, 5);
  });

  it('is the plain name for a certificate of before lifetimes', () => {
    assert.equal(identityUserFor('beta-7f3c', undefined), 'peerlog:cluster:beta-7f3c');
  });

  it('never gives two (cluster, lifetime) pairs one user, nor a lifetime user the plain name of another cluster', () => {
    // Ids that look like another id with a lifetime: a cluster id cannot hold ':', so "beta:1" is no id.
    const pairs: [string, number | undefined][] = [['beta', 1], ['beta', 11], ['beta1', 1], ['beta-1', undefined], ['beta.1', 1], ['beta', undefined], ['beta1', undefined]];
    const users = pairs.map(([id, n]) => identityUserFor(id, n));
    assert.equal(new Set(users).size, pairs.length, users.join(' '));
  });

  for (const bad of [0, -1, 1.5, Number.NaN]) {
    it(`refuses the lifetime ${bad}`, () => {
      assert.throws(() => identityUserFor('beta', bad), /an identity lifetime is a positive integer/);
    });
  }
});

describe('isIdentityUserOf', () => {
  it('takes the user of any lifetime of that cluster, and its plain name', () => {
    assert.equal(isIdentityUserOf('peerlog:cluster:beta:1', 'beta'), true);
    assert.equal(isIdentityUserOf('peerlog:cluster:beta:907', 'beta'), true);
    assert.equal(isIdentityUserOf('peerlog:cluster:beta', 'beta'), true);
  });

  for (const user of ['peerlog:cluster:beta:0', 'peerlog:cluster:beta:01', 'peerlog:cluster:beta:', 'peerlog:cluster:beta:1:2', 'peerlog:cluster:beta:x',
    'peerlog:cluster:beta2:1', 'peerlog:cluster:bet:1', 'peerlog:cluster:beta-1', 'system:masters', 'peerlog:cluster:beta:1 ']) {
    it(`refuses ${JSON.stringify(user)} for cluster beta`, () => assert.equal(isIdentityUserOf(user, 'beta'), false));
  }
});

describe('virtualNodeNameFor', () => {
  it('prefixes the remote cluster id with peerlog-', () => {
    assert.equal(virtualNodeNameFor('beta-7f3c'), 'peerlog-beta-7f3c');
  });

  it('gives two remote ids two nodes, whatever names they announce', () => {
    assert.notEqual(virtualNodeNameFor('beta-1'), virtualNodeNameFor('beta-2'));
  });

  it('gives names that are not plain labels a readable head and a hash, so they stay distinct', () => {
    const names = ['Alpha EU_west.1', 'alpha_eu', 'Alpha.EU', 'alpha-eu', 'beta_'].map(virtualNodeNameFor);
    assert.equal(new Set(names).size, names.length);
    assert.match(names[0]!, /^peerlog-alpha-eu-west-1--[0-9a-f]{16}$/);
    for (const n of names) assert.match(n, DNS_LABEL_PATTERN);
  });

  it('is at most 63 characters (a label, so it can also name the node\'s Lease)', () => {
    const name = virtualNodeNameFor('n'.repeat(300));
    assert.ok(name.length <= 63);
    assert.ok(name.startsWith('peerlog-nnn'));
  });
});

describe('remoteNamespaceFor', () => {
  /** The 16 hex the provider adds to a name that is not plain: of the namespace and the consumer id, apart. */
  const pairHash = (namespace: string, consumerId: string): string => createHash('sha256').update(`${namespace}\n${consumerId}`).digest('hex').slice(0, 16);

  it('is `<namespace>-<consumer id>` for plain names', () => {
    assert.equal(remoteNamespaceFor('shop', 'alpha'), 'shop-alpha');
    assert.equal(remoteNamespaceFor('shop', 'alpha-01'), 'shop-alpha-01');
    assert.equal(remoteNamespaceFor('kube-public', 'a1'), 'kube-public-a1');
  });

  it('keeps a plain name of exactly 63 characters as it is', () => {
    const namespace = 'n'.repeat(57);
    assert.equal(remoteNamespaceFor(namespace, 'alpha'), `${namespace}-alpha`);
    assert.equal(remoteNamespaceFor(namespace, 'alpha').length, 63);
  });

  it('gives a consumer id with capitals a lower-case head, "--" and 16 hex of SHA-256("<namespace>\\n<consumer id>")', () => {
    assert.equal(remoteNamespaceFor('shop', 'Alpha'), `shop-alpha--${pairHash('shop', 'Alpha')}`);
    assert.equal(remoteNamespaceFor('shop', 'Prod.EU_1'), `shop-prod-eu-1--${pairHash('shop', 'Prod.EU_1')}`);
    assert.match(remoteNamespaceFor('shop', 'Prod.EU_1'), DNS_LABEL_PATTERN);
  });

  it('gives a result longer than 63 characters a head of 45, "--" and the hash', () => {
    const namespace = 'a'.repeat(40);
    const consumer = 'b'.repeat(30);
    const ns = remoteNamespaceFor(namespace, consumer);
    assert.equal(ns, `${'a'.repeat(40)}-bbbb--${pairHash(namespace, consumer)}`);
    assert.equal(ns.length, 63);
    assert.match(ns, DNS_LABEL_PATTERN);
  });

  it('does not leave a triple dash where the cut falls after a dash', () => {
    // The head keeps 45 characters; the 45th is the dash between namespace and consumer id.
    const namespace = 'c'.repeat(44);
    const ns = remoteNamespaceFor(namespace, 'alpha-beta-gamma-delta');
    assert.equal(ns, `${'c'.repeat(44)}--${pairHash(namespace, 'alpha-beta-gamma-delta')}`);
    assert.match(ns, DNS_LABEL_PATTERN);
  });

  it('two namespaces whose plain names would be cut alike get different names', () => {
    const one = remoteNamespaceFor(`${'x'.repeat(55)}-one`, 'alpha');
    const two = remoteNamespaceFor(`${'x'.repeat(55)}-two`, 'alpha');
    assert.equal(one, `${'x'.repeat(45)}--${pairHash(`${'x'.repeat(55)}-one`, 'alpha')}`);
    assert.equal(two, `${'x'.repeat(45)}--${pairHash(`${'x'.repeat(55)}-two`, 'alpha')}`);
    assert.notEqual(one, two);
  });

  it('two consumers with long ids alike get different names for the same namespace', () => {
    const head = 'k'.repeat(60);
    assert.notEqual(remoteNamespaceFor('shop', `${head}1`), remoteNamespaceFor('shop', `${head}2`));
  });

  it('hashes a namespace holding "--", so a plain name never looks like a hashed one', () => {
    const ns = remoteNamespaceFor('my--shop', 'alpha');
    assert.equal(ns, `my--shop-alpha--${pairHash('my--shop', 'alpha')}`);
  });

  it('always gives a valid DNS label of at most 63 characters', () => {
    for (const [namespace, consumer] of [['a', 'A'], ['z'.repeat(63), 'z'.repeat(63)], ['a-b', 'A.B_C-D'], ['x', `X${'-'.repeat(47)}y`], ['q'.repeat(44), '-x']]) {
      const ns = remoteNamespaceFor(namespace!, consumer!);
      assert.ok(ns.length <= 63, `${namespace} ${consumer} -> ${ns}`);
      assert.match(ns, DNS_LABEL_PATTERN, `${namespace} ${consumer} -> ${ns}`);
    }
  });

  // `<namespace>-<consumer id>` (DESIGN §7) is ambiguous where both hold dashes: the two pairs
  // below get one name. The provider never shares it: the second consumer's namespace is refused
  // (NamespaceExists), since a namespace made for another consumer is never adopted.
  it('the plain form is ambiguous where both hold dashes (the provider refuses the second)', () => {
    assert.equal(remoteNamespaceFor('shop-a', 'b'), 'shop-a-b');
    assert.equal(remoteNamespaceFor('shop', 'a-b'), 'shop-a-b');
  });
});
