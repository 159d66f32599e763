/**
 * The chain cache's failure side: a replayed bad token costs a hash, not a signature check, and a cached
 * failure never outlives what could change it (time for NOT_YET_VALID, a trust store update).
 * The verifier is the token module's real verifyChain, wrapped only to count its calls.
 */
import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ChainCache } from '../../src/authz/chain-cache.js';
import { frozenClock } from '../../src/lib/clock.js';
import { isSigilError } from '../../src/lib/errors.js';
import type { VerifyOptions } from '../../src/token/api.js';
import { MirrorTrustStore, verifyChain } from '../../src/token/index.js';
import { agentId, testIdentity } from '../support/identity.js';

const T0 = 1_767_225_600_000;
/** Through the process boundary, as node:cluster's advanced serialization carries it. */
const clone = <T>(v: T): T => deserialize(serialize(v)) as T;

/** `mirror`: verify through a Check worker's MirrorTrustStore of the identity's store instead of the store. */
function setup(maxFailures?: number, maxBytes?: number, maxEntries?: number, mirror = false) {
  const clock = frozenClock(T0);
  const id = testIdentity(clock);
  const trust = mirror ? new MirrorTrustStore(clone(id.trust.snapshot()), { clock }) : undefined;
  let calls = 0;
  const cache = new ChainCache({
    ...(maxEntries === undefined ? {} : { maxEntries }),
    trust: trust ?? id.trust,
    clock,
    audience: agentId('local'),
    ttlSeconds: 60,
    maxChainDepth: 10,
    maxTtl: 300,
    clockSkew: 5,
    ...(maxFailures === undefined ? {} : { maxFailures }),
    ...(maxBytes === undefined ? {} : { maxBytes }),
    verify: (token: string, o: VerifyOptions) => {
      calls++;
      return verifyChain(token, o);
    },
  });
  return { clock, id, cache, calls: () => calls, mirror: trust };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isSigilError(e)) return e.code;
    throw e;
  }
  return 'OK';
}

function forge(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -2)}${last}${token.at(-1)}`;
}

describe('chain cache: failed verdicts', () => {
  it('a replayed forged token is denied with the same code without a second verification', async () => {
    const s = setup();
    const bad = forge(s.id.mint({ scope: ['fs.read'] }).token);
    const first = await code(s.cache.get(bad));
    expect(first).toMatch(/^TBIT_(BAD_SIGNATURE|MALFORMED)$/);
    expect(await code(s.cache.get(bad))).toBe(first);
    expect(await code(s.cache.get(bad))).toBe(first);
    expect(s.calls()).toBe(1);
    expect(s.cache.failures).toBe(1);
  });

  it('a failure expires after cache_ttl and is verified again', async () => {
    const s = setup();
    const bad = forge(s.id.mint({ scope: ['fs.read'] }).token);
    await code(s.cache.get(bad));
    s.clock.advance(61_000);
    await code(s.cache.get(bad));
    expect(s.calls()).toBe(2);
  });

  it('TBIT_NOT_YET_VALID is never cached: the same token is allowed once its time comes', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.read'] });
    s.clock.advance(-60_000); // before iat − clock_skew
    expect(await code(s.cache.get(token))).toBe('TBIT_NOT_YET_VALID');
    expect(s.cache.failures).toBe(0);
    s.clock.advance(60_000);
    expect(await code(s.cache.get(token))).toBe('OK');
  });

  it('a trust store update drops cached failures: a key that becomes trusted un-denies its tokens', async () => {
    const s = setup();
    // Another issuer under the same kid: until the store trusts its key, its tokens fail the signature check.
    const other = testIdentity(s.clock);
    const { token } = other.mint({ scope: ['fs.read'] });
    expect(await code(s.cache.get(token))).toBe('TBIT_BAD_SIGNATURE');
    expect(await code(s.cache.get(token))).toBe('TBIT_BAD_SIGNATURE');
    expect(s.calls()).toBe(1);
    s.id.trust.update({ jwks: { keys: other.jwks.keys.map((k): Record<string, unknown> => ({ ...k })) } });
    expect(await code(s.cache.get(token))).toBe('OK');
    expect(s.calls()).toBe(2);
  });

  it('the failure cache is bounded (oldest first) and can be turned off', async () => {
    const s = setup(3);
    for (let i = 0; i < 6; i++)
      await code(s.cache.get(forge(s.id.mint({ scope: ['fs.read'], task: `t${i}` }).token)));
    expect(s.cache.failures).toBe(3);
    const off = setup(0);
    const bad = forge(off.id.mint({ scope: ['fs.read'] }).token);
    await code(off.cache.get(bad));
    await code(off.cache.get(bad));
    expect(off.calls()).toBe(2);
    expect(off.cache.failures).toBe(0);
  });
});

describe('chain cache: verified chains', () => {
  it('evicts the least recently used: a hit on the oldest entry keeps it, the next oldest goes', async () => {
    const s = setup(undefined, undefined, 3);
    const small = s.cache;
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((t) => s.id.mint({ scope: ['fs.read'], task: t }).token);
    for (const t of [a, b, c]) expect((await small.get(t!)).hit).toBe(false);
    expect((await small.get(a!)).hit).toBe(true);
    expect((await small.get(d!)).hit).toBe(false);
    expect(small.size).toBe(3);
    // a was refreshed by its hit; b was the least recently used.
    expect((await small.get(a!)).hit).toBe(true);
    expect((await small.get(c!)).hit).toBe(true);
    expect((await small.get(b!)).hit).toBe(false);
  });

  it('keeps a hot entry however many others pass through', async () => {
    const s = setup(undefined, undefined, 4);
    const small = s.cache;
    const hot = s.id.mint({ scope: ['fs.read'], task: 'hot' }).token;
    await small.get(hot);
    for (let i = 0; i < 20; i++) {
      expect((await small.get(s.id.mint({ scope: ['fs.read'], task: `cold${i}` }).token)).hit).toBe(false);
      expect((await small.get(hot)).hit).toBe(true);
    }
  });

  it('is bounded by token bytes as well as entries: big valid chains cannot pin unbounded memory', async () => {
    const probe = setup();
    const len = probe.id.mint({ scope: ['fs.read'], task: 'probe' }).token.length;
    const s = setup(undefined, Math.floor(len * 2.5));
    const tokens = Array.from(
      { length: 5 },
      (_, i) => s.id.mint({ scope: ['fs.read'], task: `t${i}` }).token,
    );
    for (const t of tokens) expect(await code(s.cache.get(t))).toBe('OK');
    expect(s.cache.bytes).toBeLessThanOrEqual(Math.floor(len * 2.5));
    expect(s.cache.bytes).toBeGreaterThan(0);
    // The two most recent stay cached (no new verification); the oldest was evicted and is verified again.
    const before = s.calls();
    await s.cache.get(tokens[4]!);
    await s.cache.get(tokens[3]!);
    expect(s.calls()).toBe(before);
    await s.cache.get(tokens[0]!);
    expect(s.calls()).toBe(before + 1);
  });
});

describe("over a Check worker's trust mirror (docs/workers.md §2)", () => {
  it('serves a cached chain until a snapshot is applied, then re-verifies under the new state', async () => {
    const { id, cache, mirror } = setup(undefined, undefined, undefined, true);
    const { token } = id.mint({ scope: ['fs.*'], task: 'task-7' });
    expect((await cache.get(token)).hit).toBe(false);
    expect((await cache.get(token)).hit).toBe(true);
    // The primary revokes the task; until its snapshot arrives the worker answers from the state it has.
    id.trust.update({ revocations: { tasks: ['task-7'], jtis: [] } });
    expect((await cache.get(token)).hit).toBe(true);
    expect(() => mirror!.apply({ ...id.trust.snapshot(), version: 'new' })).toThrow(
      expect.objectContaining({ code: 'TBIT_TRUST_SNAPSHOT_INVALID' }),
    );
    expect((await cache.get(token)).hit).toBe(true);
    mirror!.apply(clone(id.trust.snapshot()));
    expect(await code(cache.get(token))).toBe('TBIT_REVOKED');
    expect(cache.size).toBe(0);
  });
});
