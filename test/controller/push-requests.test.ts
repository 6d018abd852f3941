import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isHostmeshError } from '../../src/common/errors.ts';
import { MAX_ACK_ERROR, parseAck, parseWatchQuery } from '../../src/controller/push/requests.ts';
import { bearerAuth } from '../../src/controller/push/auth.ts';

const goodAck = { node: 'node-a', epoch: 'e1', version: 3, digest: 'abc', applied: true, time: '2026-01-02T03:04:05.000Z' };

function ackError(body: unknown): string {
  try {
    parseAck(body);
  } catch (e) {
    assert.ok(isHostmeshError(e), `expected a HostmeshError, got ${String(e)}`);
    return `${e.code}: ${e.message}`;
  }
  assert.fail('expected the ack to be refused');
}

test('watch queries: node is required and checked, since is epoch:version', () => {
  assert.deepEqual(parseWatchQuery('node=node-a'), { node: 'node-a', since: undefined });
  assert.deepEqual(parseWatchQuery('?node=ip-10-0-0-1.ec2.internal&since=abc-123:42'), { node: 'ip-10-0-0-1.ec2.internal', since: { epoch: 'abc-123', version: 42 } });
  assert.deepEqual(parseWatchQuery('node=n&since='), { node: 'n', since: undefined });
  assert.throws(() => parseWatchQuery(''), /watch: node is required/);
  assert.throws(() => parseWatchQuery('node='), /watch: node is required/);
  assert.throws(() => parseWatchQuery('node=a%20b'), /watch: node must be a node name.*got "a b"/);
  assert.throws(() => parseWatchQuery('node=a&node=b'), /node is given more than once/);
  assert.throws(() => parseWatchQuery('node=a&since=12'), /since must be <epoch>:<version>.*got "12"/);
  assert.throws(() => parseWatchQuery('node=a&since=e:-1'), /since must be/);
  assert.throws(() => parseWatchQuery(`node=${'x'.repeat(254)}`), /node must be a node name/);
});

test('acks: every field is checked and named', () => {
  assert.deepEqual(parseAck(goodAck), goodAck);
  assert.deepEqual(parseAck({ ...goodAck, applied: false, error: 'port 10001 in use', extra: 1 }), { ...goodAck, applied: false, error: 'port 10001 in use' });
  assert.match(ackError([]), /^BAD_ACK: ack: body must be a JSON object, got an array/);
  assert.match(ackError({ ...goodAck, node: undefined }), /^BAD_NODE: ack: node is required/);
  assert.match(ackError({ ...goodAck, version: '3' }), /ack: version must be an integer >= 0, got "3"/);
  assert.match(ackError({ ...goodAck, version: 1.5 }), /ack: version must be an integer/);
  assert.match(ackError({ ...goodAck, epoch: '' }), /ack: epoch must be a non-empty string/);
  assert.match(ackError({ ...goodAck, digest: 7 }), /ack: digest must be a non-empty string.*got number 7/);
  assert.match(ackError({ ...goodAck, applied: 'yes' }), /ack: applied must be true or false, got "yes"/);
  assert.match(ackError({ ...goodAck, time: 'noon' }), /ack: time must be an RFC 3339 time, got "noon"/);
  assert.match(ackError({ ...goodAck, error: 42 }), /ack: error must be a string/);
  assert.match(ackError({ ...goodAck, applied: false }), /a refusal \(applied: false\) needs an error/);
  const long = parseAck({ ...goodAck, applied: false, error: 'x'.repeat(MAX_ACK_ERROR + 100) });
  assert.equal(long.error?.length, MAX_ACK_ERROR + 3, 'long refusals are cut, not refused');
});

test('parsers never throw anything but a HostmeshError', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    try {
      parseAck(v);
    } catch (e) {
      assert.ok(isHostmeshError(e));
    }
  }), { numRuns: 500 });
  // Mutating one field of a good ack keeps the parser total too.
  fc.assert(fc.property(fc.constantFrom(...Object.keys(goodAck)), fc.jsonValue(), (key, value) => {
    try {
      const ack = parseAck({ ...goodAck, [key]: value });
      assert.equal(ack[key as keyof typeof ack], value);
    } catch (e) {
      assert.ok(isHostmeshError(e));
      assert.match(e.message, new RegExp(key === 'applied' ? 'applied|error' : key));
    }
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (q) => {
    try {
      const r = parseWatchQuery(q);
      assert.match(r.node, /^[A-Za-z0-9._-]+$/);
    } catch (e) {
      assert.ok(isHostmeshError(e));
    }
  }), { numRuns: 500 });
});

test('bearer tokens: scheme, exact match, surrounding whitespace of the configured token', () => {
  const check = bearerAuth('s3cret\n');
  assert.equal(check('Bearer s3cret'), 'ok');
  assert.equal(check('bearer   s3cret '), 'ok');
  assert.equal(check(undefined), 'missing');
  assert.equal(check(''), 'missing');
  assert.equal(check('Bearer s3cre'), 'invalid');
  assert.equal(check('Bearer s3cret2'), 'invalid');
  assert.equal(check('Basic czNjcmV0'), 'invalid');
  assert.equal(check('s3cret'), 'invalid');
  assert.throws(() => bearerAuth(' \n'), (e) => isHostmeshError(e, 'TOKEN_EMPTY'));
  fc.assert(fc.property(fc.string(), (h) => {
    assert.equal(check(h), h === '' ? 'missing' : /^bearer[ \t]+s3cret[ \t]*$/i.test(h) ? 'ok' : 'invalid');
  }));
});
