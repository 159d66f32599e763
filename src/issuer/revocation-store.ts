/**
 * The revocation list (docs/keys.md §Revocation): `<data>/revocations.json`
 * `{version, tasks:[{id, at}], jtis:[{id, at}]}`, written atomically under a lock so the CLI and the
 * server can both add entries. The server notices another process's change through fs.watch on the
 * directory (the file is replaced by rename, so watching the file itself would miss it) with an
 * mtime poll as fallback; {@link RevocationStore.revoke} in-process takes effect at once.
 *
 * Fail closed: if the file exists but cannot be parsed, every token counts as revoked until it is fixed.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { changeListeners } from '../lib/change-listeners.js';
import { type Clock, systemClock } from '../lib/clock.js';
import { pollEvery } from '../lib/poll-source.js';
import type { TbitClaims } from '../token/api.js';
import { IssuerError } from './errors.js';
import { ensureDir, withFileLock, withFileLockSync } from './lib/files.js';

/** One revoked id and when it was revoked (ISO 8601). */
export interface RevocationEntry {
  id: string;
  at: string;
}

/** The file format of `revocations.json`. `version` grows by one per change. */
export interface RevocationList {
  version: number;
  tasks: RevocationEntry[];
  jtis: RevocationEntry[];
}

/** What to revoke: exactly one of `task` or `jti`. */
export type RevokeTarget = { task: string; jti?: undefined } | { jti: string; task?: undefined };

/** Result of {@link RevocationStore.revoke}. */
export interface RevokeResult {
  kind: 'task' | 'jti';
  id: string;
  at: string;
  /** True when the id was already on the list (nothing changed). */
  already: boolean;
  /** File version after the call. */
  version: number;
}

/** Options for {@link RevocationStore.open}. */
export interface RevocationStoreOptions {
  /** Path of the revocation file (default `<data>/revocations.json`). */
  path: string;
  clock?: Clock;
  /** Watch the file for other processes' changes (server: true; one-shot CLI: false). Default true. */
  watch?: boolean;
}

/** Longest accepted task id / jti (matches the token module's claim limits with room to spare). */
const MAX_ID = 1024;
/** Poll interval of the mtime fallback to fs.watch (ms). */
const POLL_MS = 1000;

const EMPTY: RevocationList = { version: 0, tasks: [], jtis: [] };

const entries = z.array(z.object({ id: z.string().min(1), at: z.string() }));
const listSchema = z.object({ version: z.number().int().min(0), tasks: entries, jtis: entries });

function parseList(text: string, path: string): RevocationList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new IssuerError('ISSUER_STORE_CORRUPT', `revocation file ${path}: not JSON`, e);
  }
  const r = listSchema.safeParse(doc);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new IssuerError(
    'ISSUER_STORE_CORRUPT',
    `revocation file ${path}: ${issue.path.map(String).join('.') || 'document'}: ${issue.message}`,
  );
}

function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.mtimeMs}:${s.size}`;
  } catch {
    return 'missing';
  }
}

/** Validates a revoke target: exactly one of task or jti, 1..MAX_ID characters. */
function checkTarget(target: RevokeTarget): ['task' | 'jti', string] {
  const id = target.task ?? target.jti;
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > MAX_ID ||
    (target.task !== undefined && target.jti !== undefined)
  ) {
    throw new IssuerError(
      'ISSUER_BAD_REQUEST',
      `revoke needs exactly one of task or jti (1..${MAX_ID} characters)`,
    );
  }
  return [target.task !== undefined ? 'task' : 'jti', id];
}

/**
 * Reads, writes and watches the revocation list. Lookups are O(1) set checks so the verifier can
 * call {@link isRevoked} on every hop of every request.
 */
export class RevocationStore {
  readonly path: string;
  private readonly lockPath: string;
  private readonly clock: Clock;
  private list: RevocationList = EMPTY;
  private tasks = new Set<string>();
  private jtis = new Set<string>();
  private corrupt: IssuerError | undefined;
  private stamp = '';
  private changes = 0;
  private stopWatching: (() => void) | undefined;
  private readonly listeners = changeListeners();

  private constructor(opts: RevocationStoreOptions) {
    this.path = opts.path;
    this.lockPath = join(dirname(opts.path), `.${basename(opts.path)}.lock.d`);
    this.clock = opts.clock ?? systemClock;
  }

  /** Opens the store, reads the file (absent = empty list) and, unless `watch: false`, starts watching it. */
  static open(opts: RevocationStoreOptions): RevocationStore {
    const s = new RevocationStore(opts);
    ensureDir(dirname(opts.path));
    s.reload();
    if (opts.watch !== false) s.stopWatching = pollEvery(() => s.reloadIfChanged(), POLL_MS, opts.path);
    return s;
  }

  private reloadIfChanged(): void {
    try {
      if (fileStamp(this.path) !== this.stamp) this.reload();
    } catch {
      // reload() turns read/parse failures into deny-everything itself; nothing may escape a timer callback.
    }
  }

  /** Re-reads the file now. A corrupt file switches the store to deny-everything until it is fixed. */
  reload(): void {
    let stamp = fileStamp(this.path);
    try {
      const next = stamp === 'missing' ? EMPTY : parseList(readFileSync(this.path, 'utf8'), this.path);
      this.apply(next, undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        // Deleted between stat and read: an absent file is an empty list.
        stamp = 'missing';
        this.apply(EMPTY, undefined);
      } else {
        const corrupt =
          e instanceof IssuerError
            ? e
            : new IssuerError('ISSUER_STORE_CORRUPT', `revocation file ${this.path} unreadable`, e);
        this.apply(this.list, corrupt);
      }
    }
    this.stamp = stamp;
  }

  private apply(next: RevocationList, corrupt: IssuerError | undefined): void {
    const changed =
      next.version !== this.list.version ||
      next !== this.list ||
      (corrupt === undefined) !== (this.corrupt === undefined);
    this.list = next;
    this.corrupt = corrupt;
    this.tasks = new Set(next.tasks.map((t) => t.id));
    this.jtis = new Set(next.jtis.map((t) => t.id));
    if (changed) {
      this.changes++;
      this.listeners.emit();
    }
  }

  /**
   * Adds a task id or jti to the list (atomic file write under the lock, waited for without blocking
   * the event loop) and applies it in-process immediately. Idempotent: revoking twice keeps the first `at`.
   */
  async revoke(target: RevokeTarget): Promise<RevokeResult> {
    const [kind, id] = checkTarget(target);
    return await withFileLock(this.lockPath, () => this.add(kind, id));
  }

  /**
   * {@link revoke} for synchronous callers (the issuer service: its gRPC handlers are synchronous). The
   * lock is not waited for: while another process writes the list this fails with ISSUER_STORE_BUSY.
   */
  revokeSync(target: RevokeTarget): RevokeResult {
    const [kind, id] = checkTarget(target);
    return withFileLockSync(this.lockPath, () => this.add(kind, id));
  }

  /** The read-modify-write of a revocation, run under the lock. */
  private add(kind: 'task' | 'jti', id: string): RevokeResult {
    // Re-read under the lock: another process may have written since our last look.
    const stamp = fileStamp(this.path);
    const current = stamp === 'missing' ? EMPTY : parseList(readFileSync(this.path, 'utf8'), this.path);
    const bucket = kind === 'task' ? current.tasks : current.jtis;
    const found = bucket.find((e) => e.id === id);
    if (found) {
      this.stamp = stamp;
      this.apply(current, undefined);
      return { kind, id, at: found.at, already: true, version: current.version };
    }
    const at = new Date(this.clock.nowMs()).toISOString();
    const next: RevocationList = {
      version: current.version + 1,
      tasks: kind === 'task' ? [...current.tasks, { id, at }] : current.tasks,
      jtis: kind === 'jti' ? [...current.jtis, { id, at }] : current.jtis,
    };
    writeFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`);
    this.stamp = fileStamp(this.path);
    this.apply(next, undefined);
    return { kind, id, at, already: false, version: next.version };
  }

  /** True when the hop's jti or task id is revoked — or when the list is corrupt (fail closed). */
  isRevoked(claims: Pick<TbitClaims, 'jti' | 'task_id'>): boolean {
    if (this.corrupt) return true;
    return this.tasks.has(claims.task_id) || this.jtis.has(claims.jti);
  }

  /** The current list (as last read or written). */
  current(): RevocationList {
    return this.list;
  }

  /** The error that put the store in deny-everything mode, if any. */
  get error(): IssuerError | undefined {
    return this.corrupt;
  }

  /** Calls `onChange` (coalesced, after the current work) whenever {@link version} grows. */
  subscribe(onChange: () => void): () => void {
    return this.listeners.add(onChange);
  }

  /** Grows on every observed change (own writes, other processes' writes, corruption). */
  get version(): number {
    return this.changes;
  }

  /** Stops watching. */
  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }
}
