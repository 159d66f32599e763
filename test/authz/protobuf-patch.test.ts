/**
 * patches/@bufbuild+protobuf+2.17.0.patch (patches/README.md): `toBinary` reuses one idle BinaryWriter, so
 * encoding a CheckResponse allocates its result only. The reuse must never show: every encode's bytes are
 * what a fresh writer gives, after bigger and smaller messages, after an encode that threw half-way, and for
 * an encode started while another one holds the writer.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { type CheckResponse, CheckResponseSchema } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { allowResponse, denyResponse } from '../../src/authz/respond.js';

const pkgDir = join(dirname(fileURLToPath(import.meta.resolve('@bufbuild/protobuf'))), '..', '..');
const MARKER = 'sigil patch: the idle writer is reused';

const allow = (n: number): CheckResponse =>
  allowResponse({
    decisionId: `d-${n}`,
    upstream: Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-sigil-h${i}`, 'v'.repeat(i * 7)])),
    remove: ['authorization'],
    downstream: { 'x-sigil-receipt': `index=${n}; leaf=abc; origin=o` },
    dynamicMetadata: { n, list: [1, 'two', { three: true }] },
  });

describe('@bufbuild/protobuf patch (toBinary reuses its writer)', () => {
  it('is installed on the version it was made for, in both the ESM and the CommonJS build', () => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
    expect(pkg.version).toBe('2.17.0');
    for (const build of ['esm', 'cjs']) {
      const src = readFileSync(join(pkgDir, 'dist', build, 'to-binary.js'), 'utf8');
      expect(src.split(MARKER).length - 1, build).toBe(1);
    }
  });

  it('gives every encode the same bytes whatever the encodes before it, and they decode to the message', () => {
    // Small, large (the kept buffer grows), small again (stale bytes behind it must not leak), a deny.
    const msgs = [
      allow(0),
      allow(40),
      allow(1),
      denyResponse({ decisionId: 'x', code: 'C', message: 'm', httpStatus: 403 }),
      allow(3),
    ];
    const hex = (m: CheckResponse) => Buffer.from(toBinary(CheckResponseSchema, m)).toString('hex');
    const forward = msgs.map(hex);
    const backward = [...msgs].reverse().map(hex).reverse();
    expect(forward).toEqual(backward);
    msgs.forEach((m, i) => {
      expect(
        equals(CheckResponseSchema, fromBinary(CheckResponseSchema, Buffer.from(forward[i]!, 'hex')), m),
      ).toBe(true);
    });
  });

  it('recovers from an encode that threw half-way (open forks, bytes written)', () => {
    const good = allow(5);
    const want = Buffer.from(toBinary(CheckResponseSchema, good)).toString('hex');
    // A string where an int32 is due, inside a nested message: the writer has forked and written by then.
    const bad = allow(5);
    (bad.status as { code: unknown }).code = 'not a number';
    expect(() => toBinary(CheckResponseSchema, bad)).toThrow();
    expect(Buffer.from(toBinary(CheckResponseSchema, good)).toString('hex')).toBe(want);
  });

  it('gives an encode started inside another one a writer of its own', () => {
    const inner = allow(2);
    const want = Buffer.from(toBinary(CheckResponseSchema, inner)).toString('hex');
    const outerMsg = allow(4);
    const wantOuter = Buffer.from(toBinary(CheckResponseSchema, outerMsg)).toString('hex');
    let nested = '';
    // `dynamicMetadata` (field 4) is read while the outer encode holds the writer, fields 1 and 3 written.
    const outer = new Proxy(outerMsg, {
      get(target, key, receiver) {
        if (key === 'dynamicMetadata' && nested === '')
          nested = Buffer.from(toBinary(CheckResponseSchema, inner)).toString('hex');
        return Reflect.get(target, key, receiver);
      },
    });
    expect(Buffer.from(toBinary(CheckResponseSchema, outer)).toString('hex')).toBe(wantOuter);
    expect(nested).toBe(want);
  });
});
