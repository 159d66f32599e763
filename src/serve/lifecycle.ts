/**
 * The modules' lifecycle events → ledger entries (docs/ledger.md §4 "Lifecycle entries"). The issuer, key stores,
 * trust bundles and policy engine report through `onLifecycle`; this stamps each event (`v`, `id`, `ts`),
 * strips credentials from source URLs and appends it. Events that come before the ledger is open (the first
 * key made at start-up) wait in order until {@link LifecycleRecorder.attach}.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { SigilConfig } from '../config/index.js';
import type { LifecycleRecord, MerkleLog } from '../ledger/index.js';
import { sha256 } from '../lib/bytes.js';
import type { Clock } from '../lib/clock.js';
import { canonicalJson, type LifecycleEvent, type OnLifecycle } from '../lib/lifecycle-event.js';

/** Where entries go: the log itself, or (for the CLI next to a running sidecar) anything that appends one. */
export type LifecycleTarget = Pick<MerkleLog, 'appendLifecycle'>;

/** Collects lifecycle events and appends them to the ledger. */
export interface LifecycleRecorder {
  /** The callback handed to the modules. Never throws. */
  onLifecycle: OnLifecycle;
  /** Starts appending: the events held so far first, in order. */
  attach(target: LifecycleTarget): void;
  /** Resolves when every event so far is appended (or failed and was logged); rejects on none. */
  settled(): Promise<void>;
  /** Appends that failed so far. */
  readonly failures: number;
}

/** A source location without credentials: URL user info, query and fragment dropped (paths are kept as given). */
export function redactSource(source: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return source;
  try {
    const u = new URL(source);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString();
  } catch {
    return '[unparsable url]';
  }
}

/** The entry of `event` at `ts`: a fresh id, credentials stripped from `source`. */
export function lifecycleEntry(event: LifecycleEvent, ts: number): LifecycleRecord {
  const e = 'source' in event ? { ...event, source: redactSource(event.source) } : event;
  return { ...e, v: 1, id: randomUUID(), ts };
}

/** A recorder stamping times from `clock` and logging failed appends on `logger`. */
export function lifecycleRecorder(deps: { clock: Clock; logger?: Logger }): LifecycleRecorder {
  let target: LifecycleTarget | undefined;
  const held: LifecycleRecord[] = [];
  let last: Promise<void> = Promise.resolve();
  let failures = 0;
  const append = (entry: LifecycleRecord) => {
    const t = target as LifecycleTarget;
    // Chained so entries land in the order their operations happened.
    last = last.then(async () => {
      try {
        await t.appendLifecycle(entry);
      } catch (err) {
        failures++;
        deps.logger?.error({ err, kind: entry.kind, id: entry.id }, 'lifecycle entry not recorded');
      }
    });
  };
  return {
    onLifecycle(event) {
      let entry: LifecycleRecord;
      try {
        entry = lifecycleEntry(event, deps.clock.nowMs());
      } catch (err) {
        failures++;
        deps.logger?.error({ err, kind: event.kind }, 'lifecycle entry not recorded');
        return;
      }
      if (target === undefined) held.push(entry);
      else append(entry);
    },
    attach(t) {
      target = t;
      for (const e of held.splice(0)) append(e);
    },
    settled: () => last,
    get failures() {
      return failures;
    },
  };
}

/**
 * `config_hash` of `sidecar.start`/`stop`: hex SHA-256 of the canonical JSON of the validated config with its
 * secrets (`sigil.issuer.operator_token`, `sigil.admin.token`) removed. Equal configs hash equal.
 */
export function configHash(config: SigilConfig): string {
  const { operator_token: _op, ...issuer } = config.issuer;
  const { token: _admin, ...admin } = config.admin;
  return sha256(canonicalJson({ ...config, issuer, admin }), 'hex');
}

let version: string | undefined;

/** This package's version (package.json, found upward from this file: the same from src/ and dist/src/). */
export function sigilVersion(): string {
  version ??= findVersion();
  return version;
}

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string' && pkg.version.length > 0) return pkg.version.slice(0, 64);
    } catch {
      // not here: one level up
    }
  }
  return 'unknown';
}
