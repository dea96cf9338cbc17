import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOKEN_BYTES, checkToken, generateToken, isWellFormedToken, tokensEqual } from '../../../src/auth/token.js';

const TOKEN = 'A'.repeat(20) + 'b-_9'.repeat(6); // 44 base64url characters

describe('generateToken', () => {
  it('is base64url of TOKEN_BYTES random bytes', () => {
    const token = generateToken();
    assert.ok(token.length >= 43, `length ${token.length}`);
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.equal(Buffer.from(token, 'base64url').length, TOKEN_BYTES);
  });

  it('is well formed', () => {
    assert.equal(isWellFormedToken(generateToken()), true);
  });

  it('gives a different token each time', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => generateToken()));
    assert.equal(tokens.size, 50);
  });
});

describe('isWellFormedToken', () => {
  const wellFormed = ['a'.repeat(43), 'Z'.repeat(256), TOKEN, '0123456789-_abcdefghijklmnopqrstuvwxyzABCDEFG'];
  for (const token of wellFormed) {
    it(`accepts ${token.slice(0, 12)}… (${token.length} characters)`, () => assert.equal(isWellFormedToken(token), true));
  }

  const malformed: ReadonlyArray<readonly [string, string]> = [
    ['empty', ''],
    ['42 characters', 'a'.repeat(42)],
    ['257 characters', 'a'.repeat(257)],
    ['standard base64 "+"', `${'a'.repeat(43)}+`],
    ['standard base64 "/"', `${'a'.repeat(43)}/`],
    ['padding', `${'a'.repeat(43)}=`],
    ['a space', `${'a'.repeat(21)} ${'a'.repeat(21)}`],
    ['a trailing newline', `${'a'.repeat(43)}\n`],
    ['a non-ASCII letter', `${'a'.repeat(42)}é`],
  ];
  for (const [name, token] of malformed) {
    it(`refuses ${name}`, () => assert.equal(isWellFormedToken(token), false));
  }
});

describe('tokensEqual', () => {
  it('is true for equal tokens', () => {
    assert.equal(tokensEqual(TOKEN, `${TOKEN}`), true);
  });

  it('is false when one character differs', () => {
    assert.equal(tokensEqual(TOKEN, `${TOKEN.slice(0, -1)}x`), false);
  });

  it('is false for a prefix or an extension of the token', () => {
    assert.equal(tokensEqual(TOKEN.slice(0, -1), TOKEN), false);
    assert.equal(tokensEqual(`${TOKEN}a`, TOKEN), false);
  });

  it('is case sensitive', () => {
    assert.equal(tokensEqual(TOKEN.toLowerCase(), TOKEN), false);
  });
});

describe('checkToken', () => {
  for (const presented of [undefined, null, '']) {
    it(`given ${JSON.stringify(presented) ?? 'undefined'}, then TokenMissing`, () => {
      assert.equal(checkToken(presented, TOKEN), 'TokenMissing');
    });
  }

  const malformed: ReadonlyArray<readonly [string, unknown]> = [
    ['a number', 42],
    ['zero', 0],
    ['false', false],
    ['an object', { token: TOKEN }],
    ['an array', [TOKEN]],
    ['a short string', 'secret'],
    ['42 characters', TOKEN.slice(0, 42)],
    ['a string with "+"', `${TOKEN.slice(0, -1)}+`],
    ['a string with spaces', ` ${TOKEN} `],
  ];
  for (const [name, presented] of malformed) {
    it(`given ${name}, then TokenMalformed`, () => assert.equal(checkToken(presented, TOKEN), 'TokenMalformed'));
  }

  it('given a well-formed token that is not the expected one, then TokenMismatch', () => {
    assert.equal(checkToken(generateToken(), TOKEN), 'TokenMismatch');
    assert.equal(checkToken(`${TOKEN}a`, TOKEN), 'TokenMismatch');
  });

  it('given the expected token, then null', () => {
    assert.equal(checkToken(`${TOKEN}`, TOKEN), null);
    const generated = generateToken();
    assert.equal(checkToken(generated, generated), null);
  });
});
