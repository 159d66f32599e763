/**
 * Property tests (fast-check): hostile bytes and values never crash the parsers or produce an allow by accident.
 * Every failure must be a PolicyError with a stable code.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  evaluateInput,
  loadBundle,
  mapDecision,
  type PolicyBundle,
  PolicyError,
  parsePathAndQuery,
} from '../../src/policy/index.js';
import { readTar } from '../../src/policy/lib/tar.js';
import { makeTar, opaBuild, POLICY_DIR } from './support.js';

function onlyPolicyErrors(f: () => unknown, codes: string[]): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    expect(codes).toContain(e.code);
  }
}

describe('tar reader', () => {
  it('random bytes → PolicyError POLICY_BUNDLE_INVALID or a map, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        onlyPolicyErrors(() => readTar(Buffer.from(bytes)), ['POLICY_BUNDLE_INVALID']);
      }),
      { numRuns: 500 },
    );
  });

  it('a valid archive with random byte flips → PolicyError or a map', () => {
    const base = makeTar([
      { name: '/data.json', data: '{"a":1}' },
      { name: '/.manifest', data: '{"revision":"x"}' },
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        (flips) => {
          const b = Buffer.from(base);
          for (const [i, v] of flips) b[i] = v;
          onlyPolicyErrors(() => readTar(b), ['POLICY_BUNDLE_INVALID']);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('bundle loader', () => {
  it('gzip of random bytes → POLICY_BUNDLE_INVALID, never accepted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        await expect(loadBundle(gzipSync(bytes))).rejects.toMatchObject({ code: 'POLICY_BUNDLE_INVALID' });
      }),
      { numRuns: 200 },
    );
  });
});

describe('parsePathAndQuery', () => {
  it('any string → a result or POLICY_INPUT_INVALID', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (s) => {
        onlyPolicyErrors(() => parsePathAndQuery(s), ['POLICY_INPUT_INVALID']);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('mapDecision', () => {
  it('any JSON value → allow only when it is true or {allowed: true, …} with valid fields', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (d) => {
        try {
          const v = mapDecision(d, 'r', 0);
          const isAllow =
            d === true ||
            (typeof d === 'object' &&
              d !== null &&
              !Array.isArray(d) &&
              (d as { allowed?: unknown }).allowed === true);
          expect(v.allowed).toBe(isAllow);
          if (!v.allowed) expect(v.code).toBe('POLICY_DENIED');
        } catch (e) {
          if (!(e instanceof PolicyError)) throw e;
          expect(e.code).toBe('POLICY_RESULT_INVALID');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('an object with allowed: true plus random extra fields never throws anything but POLICY_RESULT_INVALID', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            'headers',
            'request_headers_to_remove',
            'response_headers_to_add',
            'dynamic_metadata',
            'body',
            'http_status',
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        (extra) => {
          onlyPolicyErrors(() => mapDecision({ ...extra, allowed: true }, 'r', 0), ['POLICY_RESULT_INVALID']);
          onlyPolicyErrors(
            () => mapDecision({ ...extra, allowed: false }, 'r', 0),
            ['POLICY_RESULT_INVALID'],
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('Wasm evaluation on hostile input documents', () => {
  let bundle: PolicyBundle;
  beforeAll(async () => {
    bundle = await loadBundle(opaBuild(join(POLICY_DIR, 'examples/rbac')));
  });
  it('random JSON as input → a verdict (never a throw); allow only via the policy’s own rules', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (input) => {
        const v = evaluateInput(bundle, input, { timeoutMs: 10_000 });
        expect(typeof v.allowed).toBe('boolean');
        if (v.allowed) expect(v.code).toBe('OK');
        else expect(v.code).toMatch(/^POLICY_/);
      }),
      { numRuns: 300 },
    );
  });
});
