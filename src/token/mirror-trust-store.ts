/**
 * MirrorTrustStore: a TrustStore fed with snapshots of another process's store (a Check worker mirroring the
 * primary, docs/workers.md §2). It answers `issuerKey` and `isRevoked` as the source did when the snapshot was
 * taken, including retired issuer keys that stop verifying at their `notAfterMs` without a new snapshot.
 */
import type { KeyObject } from 'node:crypto';
import { changeListeners } from '../lib/change-listeners.js';
import { type Clock, systemClock } from '../lib/clock.js';
import type {
  ReplicableTrustStore,
  TbitClaims,
  TrustedIssuerKey,
  TrustSnapshot,
  TrustSnapshotSource,
} from './api.js';
import { TbitError } from './errors.js';
import { importEd25519 } from './lib/keys.js';
import { parseTrustSnapshot } from './trust-snapshot.js';
import { trustBinding } from './trust-store.js';

/** A key of the snapshot, imported and bound; `notAfterMs` as in the snapshot. */
interface MirroredKey {
  readonly x: string;
  readonly bound: TrustedIssuerKey;
  readonly notAfterMs: number;
}

/** The applied state: everything the hot path reads, built before it replaces the previous one. */
interface State {
  readonly snapshot: TrustSnapshot;
  /** Bindings of the own source; undefined when the snapshot has none. */
  readonly ownIssuers: ReadonlySet<string> | undefined;
  readonly own: ReadonlyMap<string, MirroredKey>;
  readonly sources: readonly ReadonlyMap<string, MirroredKey>[];
  readonly jtis: ReadonlySet<string>;
  readonly tasks: ReadonlySet<string>;
  readonly all: boolean;
}

/** Options of {@link MirrorTrustStore}. */
export interface MirrorTrustStoreOptions {
  /** The clock retired keys' `notAfterMs` is compared with (the source's clock; default the system clock). */
  clock?: Clock;
}

const stale = (message: string) => new TbitError('TBIT_TRUST_SNAPSHOT_STALE', message);

/**
 * A trust store that holds what the last applied {@link TrustSnapshot} says. Construct it with the first snapshot
 * (a worker never runs without trust); {@link apply} later ones. A snapshot that is malformed
 * (TBIT_TRUST_SNAPSHOT_INVALID) or older than the one in force (TBIT_TRUST_SNAPSHOT_STALE) is refused and the
 * state in force stays: the caller reports the refusal to the primary (docs/workers.md §2).
 */
export class MirrorTrustStore implements ReplicableTrustStore {
  #state: State;
  #version = 0;
  readonly #clock: Clock;
  readonly #listeners = changeListeners();

  constructor(initial: unknown, options: MirrorTrustStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#state = build(parseTrustSnapshot(initial), undefined);
  }

  /**
   * Replaces the state with `snapshot` (validated first; atomic: one reference swap). Bumps {@link version} so
   * verified-chain caches drop entries verified under the old state. Throws TBIT_TRUST_SNAPSHOT_INVALID or
   * TBIT_TRUST_SNAPSHOT_STALE and keeps the previous state.
   */
  apply(snapshot: unknown): void {
    const next = parseTrustSnapshot(snapshot);
    const current = this.#state.snapshot.version;
    if (next.version < current) {
      throw stale(`trust snapshot version ${next.version} is older than the one in force (${current})`);
    }
    this.#state = build(next, this.#state);
    this.#version++;
    this.#listeners.emit();
  }

  /** The version of the source store the state in force was taken at. */
  get sourceVersion(): number {
    return this.#state.snapshot.version;
  }

  /** Grows by one per applied snapshot (verified-chain caches key on it). */
  get version(): number {
    return this.#version;
  }

  /**
   * The lookup of src/issuer/open-stores.ts `localTrust`: the own key for a root whose `iss` the own source is bound
   * to; else the first source holding `kid` bound to `iss`; else the first source holding `kid` at all; else the
   * own key (a kid known only out of scope is returned so the verifier reports why, after the signature check).
   */
  issuerKey(iss: string, kid: string): TrustedIssuerKey | undefined {
    const s = this.#state;
    if (s.ownIssuers?.has(iss) === true) {
      const mine = this.#live(s.own.get(kid));
      if (mine !== undefined) return mine;
    }
    let other: TrustedIssuerKey | undefined;
    for (const source of s.sources) {
      const k = this.#live(source.get(kid));
      if (k === undefined) continue;
      if (k.issuers.has(iss)) return k;
      other ??= k;
    }
    return other ?? this.#live(s.own.get(kid));
  }

  /** True when the jti or task id is revoked in any source, or the source's list was unreadable (fail closed). */
  isRevoked(claims: Pick<TbitClaims, 'jti' | 'task_id'>): boolean {
    const s = this.#state;
    return s.all || s.jtis.has(claims.jti) || s.tasks.has(claims.task_id);
  }

  /** The snapshot in force (so a mirror can feed further mirrors). */
  snapshot(): TrustSnapshot {
    return this.#state.snapshot;
  }

  /** Told after each applied snapshot. */
  subscribe(onChange: () => void): () => void {
    return this.#listeners.add(onChange);
  }

  #live(k: MirroredKey | undefined): TrustedIssuerKey | undefined {
    if (k === undefined) return undefined;
    // A retired issuer key stops verifying at the end of its publication window (src/issuer/issuer-key-store.ts).
    return k.notAfterMs === Number.POSITIVE_INFINITY || this.#clock.nowMs() < k.notAfterMs
      ? k.bound
      : undefined;
  }
}

/**
 * Imports and binds every key of `snap`. KeyObjects of the previous state are reused by `x` (a snapshot after a
 * revocation re-sends the same keys). Throws TBIT_TRUST_SNAPSHOT_INVALID for a binding or key that does not load.
 */
function build(snap: TrustSnapshot, prev: State | undefined): State {
  const known = new Map<string, KeyObject>();
  if (prev !== undefined) {
    for (const m of [prev.own, ...prev.sources]) {
      for (const k of m.values()) known.set(k.x, k.bound.key);
    }
  }
  const load = (src: TrustSnapshotSource, what: string): Map<string, MirroredKey> => {
    let binding: ReturnType<typeof trustBinding>;
    try {
      binding = trustBinding(src.issuers, src.trustDomains);
    } catch (e) {
      throw new TbitError('TBIT_TRUST_SNAPSHOT_INVALID', `${what}: ${(e as Error).message}`, undefined, e);
    }
    const out = new Map<string, MirroredKey>();
    for (const k of src.keys) {
      let key = known.get(k.x);
      if (key === undefined) {
        try {
          key = importEd25519(k.x);
        } catch (e) {
          throw new TbitError(
            'TBIT_TRUST_SNAPSHOT_INVALID',
            `${what}: key ${k.kid} does not import`,
            undefined,
            e,
          );
        }
        known.set(k.x, key);
      }
      // One frozen object per key, built here, so a lookup allocates nothing.
      const bound = Object.freeze({ key, ...binding });
      out.set(k.kid, { x: k.x, bound, notAfterMs: k.notAfterMs ?? Number.POSITIVE_INFINITY });
    }
    return out;
  };
  return {
    snapshot: snap,
    ownIssuers: snap.own === undefined ? undefined : new Set(snap.own.issuers),
    own: snap.own === undefined ? new Map() : load(snap.own, 'own'),
    sources: snap.sources.map((s, i) => load(s, `sources[${i}]`)),
    jtis: new Set(snap.revoked.jtis),
    tasks: new Set(snap.revoked.tasks),
    all: snap.revoked.all,
  };
}
