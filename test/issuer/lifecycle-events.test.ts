/**
 * The issuer's lifecycle events (docs/ledger.md §4 "Lifecycle entries"): exactly one per key created, rotated in
 * or retired — also with two stores (two processes) on one data dir — and per revocation, with what changed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IssuerService, LOCAL_OPERATOR, openIssuerStores, openKeyStores } from '../../src/issuer/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import type { LifecycleEvent } from '../../src/lib/lifecycle-event.js';
import { AGENT, cleanupDirs, T0_MS, tempDir, testOptions } from './helpers.js';

afterEach(cleanupDirs);

const HOUR = 3600;

describe('key store events', () => {
  it('create, rotate (with prev_kid), retire once even when two stores prune the same key', () => {
    const dir = tempDir();
    const clock = frozenClock(T0_MS);
    const events: LifecycleEvent[] = [];
    const onLifecycle = (e: LifecycleEvent) => events.push(e);
    const opts = { dataDir: dir, rotationInterval: HOUR, maxTtl: 300, clockSkew: 5, clock, onLifecycle };
    const a = openKeyStores({ ...opts, via: 'serve' });
    const b = openKeyStores({ ...opts, via: 'cli' });
    const first = a.issuer.signer();
    expect(b.issuer.signer().kid).toBe(first.kid); // no second create
    expect(events).toEqual([
      {
        kind: 'key.create',
        via: 'serve',
        key_type: 'issuer',
        kid: first.kid,
        thumbprint: first.kid,
        alg: 'EdDSA',
      },
    ]);
    clock.advance(HOUR * 1000);
    const second = a.issuer.signer();
    expect(second.kid).not.toBe(first.kid);
    expect(b.issuer.signer().kid).toBe(second.kid);
    expect(events.slice(1)).toEqual([
      {
        kind: 'key.rotate',
        via: 'serve',
        key_type: 'issuer',
        kid: second.kid,
        thumbprint: second.kid,
        alg: 'EdDSA',
        prev_kid: first.kid,
      },
    ]);
    clock.advance(306_000); // past retired_at + max_ttl + skew
    expect([...b.issuer.prune(), ...a.issuer.prune()]).toEqual([first.kid]);
    expect(events.slice(2)).toEqual([
      {
        kind: 'key.retire',
        via: 'cli',
        key_type: 'issuer',
        kid: first.kid,
        thumbprint: first.kid,
        alg: 'EdDSA',
      },
    ]);
  });

  it('an agent key: one key.create with its SPIFFE ID, none when it exists', () => {
    const events: LifecycleEvent[] = [];
    const ks = openKeyStores({
      dataDir: tempDir(),
      rotationInterval: HOUR,
      maxTtl: 300,
      clockSkew: 5,
      onLifecycle: (e) => events.push(e),
      via: 'cli',
    });
    const k = ks.agents.ensure(AGENT);
    ks.agents.ensure(AGENT);
    expect(events).toEqual([
      {
        kind: 'key.create',
        via: 'cli',
        key_type: 'agent',
        kid: k.kid,
        thumbprint: k.kid,
        alg: 'EdDSA',
        sub: AGENT,
      },
    ]);
  });
});

describe('issuer service events', () => {
  it('revoke: one token.revoke per call, `already` on the second; nothing for a refused call', async () => {
    const dir = tempDir();
    const options = testOptions(dir, { issuer: { operator_token: 'operator-credential-0123456789' } });
    const events: LifecycleEvent[] = [];
    const onLifecycle = (e: LifecycleEvent) => events.push(e);
    const stores = await openIssuerStores(options, { watch: false });
    try {
      const service = new IssuerService({ options, ...stores, onLifecycle });
      service.revoke(
        { task: 't1' },
        { kind: 'remote', credential: 'operator-credential-0123456789', via: 'grpc' },
      );
      await service.revokeWaiting({ task: 't1' }, LOCAL_OPERATOR);
      expect(() =>
        service.revoke({ jti: 'j' }, { kind: 'remote', credential: 'wrong', via: 'http' }),
      ).toThrow();
      expect(() => service.mint({ sub: AGENT }, LOCAL_OPERATOR)).toThrow();
      expect(events).toEqual([
        { kind: 'token.revoke', via: 'grpc', task_id: 't1', already: false },
        { kind: 'token.revoke', via: 'cli', task_id: 't1', already: true },
      ]);
    } finally {
      stores.close();
    }
  });
});
