/**
 * The sidecar's trust (own issuer keys + revocation list + trust bundles, on a real data dir) mirrored into a
 * MirrorTrustStore the way the primary feeds Check workers (docs/workers.md §2): subscribe, snapshot, structured
 * clone, apply. The mirror must answer exactly like the source across key rotation, key retirement, revocation,
 * a corrupt revocation list and trust bundle refreshes; and Revoke answers only once the change is in force.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openIssuerStores } from '../../src/issuer/open-stores.js';
import { IssuerService, LOCAL_OPERATOR } from '../../src/issuer/service.js';
import { frozenClock } from '../../src/lib/clock.js';
import { SigilError } from '../../src/lib/errors.js';
import type { TrustStore } from '../../src/token/api.js';
import { MirrorTrustStore, mintRoot, publicJwkOf, verifyChain } from '../../src/token/index.js';
import { AGENT, cleanupDirs, codeOf, ISSUER_ID, T0_MS, tempDir, testOptions } from './helpers.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  cleanupDirs();
});

const clone = <T>(v: T): T => deserialize(serialize(v)) as T;
const OTHER = 'spiffe://other.mesh/sigil/issuer';
const THIRD = 'spiffe://third.mesh/sigil/issuer';
const PAIRS = Array.from({ length: 3 }, () => generateKeyPairSync('ed25519'));
const BUNDLE_KIDS = ['b0', 'b1', 'b2'];
const IDS = ['task-1', 'task-2', 'j1', 'j2'];

/** A bundle document: some of PAIRS under some kids, and a revocation list. */
interface BundleDoc {
  keys: { kid: string; pair: number }[];
  jtis: string[];
  tasks: string[];
}
let stamp = 0;
function writeBundle(path: string, doc: BundleDoc): void {
  const jwks = {
    keys: doc.keys.map((k) => ({
      ...publicJwkOf(PAIRS[k.pair]!.publicKey),
      kid: k.kid,
      alg: 'EdDSA',
      use: 'sig',
    })),
    revocations: { jtis: doc.jtis, tasks: doc.tasks },
  };
  // Renamed into place, as an operator's tooling would: a new inode, so the poll sees a change.
  const tmp = `${path}.${++stamp}.tmp`;
  writeFileSync(tmp, JSON.stringify(jwks));
  renameSync(tmp, path);
}

async function sidecar() {
  const dir = tempDir();
  const bundles = [join(dir, 'other.json'), join(dir, 'third.json')];
  writeBundle(bundles[0]!, { keys: [{ kid: 'b0', pair: 0 }], jtis: [], tasks: [] });
  writeBundle(bundles[1]!, { keys: [{ kid: 'b0', pair: 1 }], jtis: [], tasks: [] });
  const options = {
    ...testOptions(dir),
    trustSources: [
      { source: bundles[0]!, issuers: [OTHER], trustDomains: ['other.mesh'] },
      { source: bundles[1]!, issuers: [THIRD, OTHER], trustDomains: ['third.mesh'] },
    ],
    bundleRefreshMs: 20,
  };
  const clock = frozenClock(T0_MS);
  const stores = await openIssuerStores(options, { clock, watch: true });
  closers.push(() => stores.close());
  stores.keys.agents.ensure(AGENT);
  // The primary's side: every change is snapshotted, cloned across the boundary and applied.
  const mirror = new MirrorTrustStore(clone(stores.trust.snapshot()), { clock });
  const refused: unknown[] = [];
  closers.push(
    stores.trust.subscribe(() => {
      try {
        mirror.apply(clone(stores.trust.snapshot()));
      } catch (e) {
        refused.push(e);
      }
    }),
  );
  const service = new IssuerService({ options, ...stores, clock });
  /** Kids of every own signing key seen (retired ones included: they must be refused alike). */
  const ownKids: string[] = [];
  return { dir, bundles, options, clock, stores, mirror, refused, service, ownKids };
}
type Sidecar = Awaited<ReturnType<typeof sidecar>>;

/** The mirror has caught up with the source (listeners run on a microtask; a bundle refresh on a timer). */
async function caughtUp(s: Sidecar): Promise<void> {
  await vi.waitFor(() => expect(s.mirror.sourceVersion).toBe(s.stores.trust.version), {
    timeout: 2000,
    interval: 5,
  });
}

function expectSameAnswers(s: Sidecar, tokens: string[]): void {
  const source: TrustStore = s.stores.trust;
  const kids = [...new Set([...s.stores.keys.issuer.keys().map((k) => k.kid), ...s.ownKids, ...BUNDLE_KIDS])];
  for (const iss of [ISSUER_ID, OTHER, THIRD]) {
    for (const kid of kids) {
      const a = source.issuerKey(iss, kid);
      const b = s.mirror.issuerKey(iss, kid);
      expect(b === undefined, `${iss} ${kid}`).toBe(a === undefined);
      if (a === undefined || b === undefined) continue;
      expect(b.key.equals(a.key), `${iss} ${kid}`).toBe(true);
      expect([...b.issuers]).toEqual([...a.issuers]);
      expect([...b.trustDomains]).toEqual([...a.trustDomains]);
    }
  }
  for (const jti of IDS) {
    for (const task_id of IDS)
      expect(s.mirror.isRevoked({ jti, task_id })).toBe(source.isRevoked({ jti, task_id }));
  }
  const outcome = (t: string, trust: TrustStore) => {
    try {
      return verifyChain(t, { trust, clock: s.clock, maxTtl: 300, clockSkew: 5 }).tokenHash;
    } catch (e) {
      return e instanceof SigilError ? e.code : String(e);
    }
  };
  for (const t of tokens) expect(outcome(t, s.mirror)).toBe(outcome(t, source));
}

type Op =
  | { op: 'revoke'; kind: 'task' | 'jti'; id: string }
  | { op: 'rotate' }
  | { op: 'advance'; seconds: number }
  | { op: 'bundle'; which: 0 | 1; doc: BundleDoc }
  | { op: 'corrupt' }
  | { op: 'repair' };

const bundleDoc = fc.record({
  keys: fc.uniqueArray(fc.record({ kid: fc.constantFrom(...BUNDLE_KIDS), pair: fc.nat(PAIRS.length - 1) }), {
    selector: (k) => k.kid,
    maxLength: 3,
  }),
  jtis: fc.subarray(IDS),
  tasks: fc.subarray(IDS),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('revoke' as const),
    kind: fc.constantFrom('task' as const, 'jti' as const),
    id: fc.constantFrom(...IDS),
  }),
  fc.record({ op: fc.constant('rotate' as const) }),
  fc.record({ op: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 400 }) }),
  fc.record({
    op: fc.constant('bundle' as const),
    which: fc.constantFrom(0 as const, 1 as const),
    doc: bundleDoc,
  }),
  fc.record({ op: fc.constant('corrupt' as const) }),
  fc.record({ op: fc.constant('repair' as const) }),
);

describe('mirroring the sidecar trust', () => {
  it('a mirror answers like the data dir trust across rotation, retirement, revocation and bundle refresh (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
        const s = await sidecar();
        const tokens: string[] = [];
        const root = (
          issuerKey: KeyObject,
          kid: string,
          iss: string,
          sub: string,
          jti: string,
          taskId: string,
        ) =>
          mintRoot({
            issuerKey,
            kid,
            iss,
            sub,
            aud: 'spiffe://sigil.mesh',
            taskId,
            toolScope: ['fs.*'],
            ttl: 300,
            jti,
            clock: s.clock,
          });
        // A root by the own signer now, and one by every bundle key pair for each other issuer.
        const mint = (jti: string, task: string) => {
          const signer = s.stores.keys.issuer.signer();
          s.ownKids.push(signer.kid);
          tokens.push(root(signer.privateKey, signer.kid, ISSUER_ID, AGENT, jti, task));
          for (const [i, p] of PAIRS.entries()) {
            tokens.push(root(p.privateKey, BUNDLE_KIDS[i]!, OTHER, 'spiffe://other.mesh/agent/a', jti, task));
            tokens.push(root(p.privateKey, BUNDLE_KIDS[i]!, THIRD, 'spiffe://third.mesh/agent/a', jti, task));
          }
        };
        mint('j1', 'task-1');
        await caughtUp(s);
        expectSameAnswers(s, tokens);
        for (const o of ops) {
          const before = s.stores.trust.version;
          if (o.op === 'revoke') {
            const revoke = () =>
              s.service.revoke(o.kind === 'task' ? { task: o.id } : { jti: o.id }, LOCAL_OPERATOR);
            // Revoking into a corrupt list is refused (nothing changes); the list denies everything meanwhile.
            if (s.stores.revocations.error) expect(codeOf(revoke)).toBe('ISSUER_STORE_CORRUPT');
            else revoke();
          } else if (o.op === 'rotate') await s.stores.keys.issuer.rotate();
          else if (o.op === 'advance') s.clock.advance(o.seconds * 1000);
          else if (o.op === 'bundle') {
            writeBundle(s.bundles[o.which]!, o.doc);
            await vi.waitFor(() => expect(s.stores.trust.version).toBeGreaterThan(before), {
              timeout: 2000,
              interval: 5,
            });
          } else if (o.op === 'corrupt') {
            writeFileSync(s.options.revocationsPath, '{"version": ');
            s.stores.revocations.reload();
          } else {
            writeFileSync(s.options.revocationsPath, JSON.stringify({ version: 9, tasks: [], jtis: [] }));
            s.stores.revocations.reload();
          }
          mint(o.op === 'revoke' ? o.id : 'j2', o.op === 'revoke' && o.kind === 'task' ? o.id : 'task-2');
          await caughtUp(s);
          expectSameAnswers(s, tokens);
        }
        expect(s.refused).toEqual([]);
        for (const c of closers.splice(0)) c();
      }),
      { numRuns: 12 },
    );
  }, 60_000);

  it('a key rotated by another process reaches the mirror through the directory re-listing', async () => {
    const s = await sidecar();
    const first = s.stores.keys.issuer.signer().kid;
    await caughtUp(s);
    // Another process (sigil keys rotate) writes a key file: the stores are not told.
    const { openKeyStores } = await import('../../src/issuer/open-stores.js');
    const cli = openKeyStores({
      dataDir: s.dir,
      rotationInterval: 3600,
      maxTtl: 300,
      clockSkew: 5,
      clock: s.clock,
    });
    const rotated = await cli.issuer.rotate();
    expect(rotated.kid).not.toBe(first);
    await vi.waitFor(() => expect(s.mirror.issuerKey(ISSUER_ID, rotated.kid)).toBeDefined(), {
      timeout: 3000,
    });
    expect(s.mirror.issuerKey(ISSUER_ID, first)).toBeDefined(); // retired, still published
  });

  it('a refused snapshot keeps the previous state, and the refusal is the caller’s to report', async () => {
    const s = await sidecar();
    s.service.revoke({ task: 'task-1' }, LOCAL_OPERATOR);
    await caughtUp(s);
    const good = s.mirror.sourceVersion;
    expect(codeOf(() => s.mirror.apply({ ...s.stores.trust.snapshot(), sources: 'x' }))).toBe(
      'TBIT_TRUST_SNAPSHOT_INVALID',
    );
    expect(s.mirror.sourceVersion).toBe(good);
    expect(s.mirror.isRevoked({ jti: 'x', task_id: 'task-1' })).toBe(true);
  });
});

describe('Revoke answers once the revocation is in force (whenInForce)', () => {
  it('waits for the confirmation and fails with ISSUER_NOT_IN_FORCE when it fails', async () => {
    const s = await sidecar();
    let confirm: (() => void) | undefined;
    const inForce = new IssuerService({
      options: s.options,
      ...s.stores,
      clock: s.clock,
      whenInForce: () =>
        new Promise<void>((resolve) => {
          confirm = resolve;
        }),
    });
    let answered = false;
    const pending = inForce.revokeInForce({ jti: 'j1' }, LOCAL_OPERATOR).then((r) => {
      answered = true;
      return r;
    });
    await caughtUp(s);
    expect(s.mirror.isRevoked({ jti: 'j1', task_id: 'x' })).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    confirm?.();
    expect(await pending).toMatchObject({ kind: 'jti', id: 'j1', already: false });

    const failing = new IssuerService({
      options: s.options,
      ...s.stores,
      clock: s.clock,
      whenInForce: () => Promise.reject(new Error('worker 2 did not answer')),
    });
    await expect(failing.revokeInForce({ task: 'task-9' }, LOCAL_OPERATOR)).rejects.toMatchObject({
      code: 'ISSUER_NOT_IN_FORCE',
    });
  });
});
