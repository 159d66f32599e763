/**
 * Signed C2SP checkpoints of the log (docs/ledger.md §5): the signer, making and storing checkpoints
 * (on demand and on a timer), reading them back, and c2sp.org/tlog-proof@v1 bundles.
 */
import { LedgerError } from '../errors.js';
import { formatCheckpoint } from '../parse-checkpoint.js';
import { loadOrCreateSigner, type NoteSigner, signNote } from '../sign-note.js';
import { TLOG_PROOF_V1 } from '../verify-proof-bundle.js';
import { b64encode } from './b64.js';
import { EMPTY_ROOT } from './hash.js';
import type { LogStore } from './log-store.js';

/** A signed checkpoint as stored. */
export interface SignedCheckpoint {
  size: number;
  root: Uint8Array;
  /** The full signed note (checkpoint text, blank line, signature line). */
  note: string;
}

/** What checkpoints read of the log (the log itself): durable size, roots, entries and proofs. */
export interface CheckpointedLog {
  readonly size: number;
  root(size: number): Uint8Array;
  /** @throws LedgerError `LEDGER_BAD_ARGUMENT` for an index that is not durable. */
  entry(index: number): Uint8Array;
  inclusionProof(index: number, size: number): Uint8Array[];
  /** Resolves once every append that resolved so far is in {@link size} (the journal commits behind). */
  caughtUp(): Promise<void>;
}

/** The `checkpoints` database of one log and its signing key. */
export class Checkpoints {
  private signerCache: NoteSigner | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: LogStore,
    private readonly log: CheckpointedLog,
    /** Why the log takes no writes (closed, read-only), or undefined when it does. */
    private readonly writeError: () => LedgerError | undefined,
    private readonly o: { origin: string; keyFile: string; readOnly: boolean },
  ) {}

  /** The checkpoint signer (key loaded, or created on first use by a writable log). */
  private signer(): NoteSigner {
    this.signerCache ??= loadOrCreateSigner(this.o.keyFile, this.o.origin, !this.o.readOnly);
    return this.signerCache;
  }

  /** Verifier key string `<origin>+<hex id>+<base64 key>` for outsiders and the dashboard. */
  get verifierKey(): string {
    return this.signer().verifierKey;
  }

  /**
   * Signs and stores a checkpoint of the current durable size (returns the stored one if the log did
   * not grow). It first waits for the flush, so a checkpoint never covers entries that could be lost, and
   * (`durability: journal`) for LMDB to hold every append that resolved, so it covers every answer given.
   * @throws LedgerError `LEDGER_CLOSED`, `LEDGER_BAD_ARGUMENT` (read-only).
   */
  async make(): Promise<SignedCheckpoint> {
    const refused = this.writeError();
    if (refused) throw refused;
    await this.log.caughtUp();
    await this.store.env.flushed;
    const size = this.log.size;
    const existing = this.get(size);
    if (existing) return existing;
    const root = this.log.root(size);
    const note = signNote(formatCheckpoint(this.o.origin, size, root), this.signer());
    await this.store.checkpoints.put(size, note);
    await this.store.env.flushed;
    return { size, root, note };
  }

  /** Makes a checkpoint every `seconds` when the log grew (errors are left to the next tick). */
  every(seconds: number): void {
    this.timer = setInterval(() => {
      if (this.log.size > (this.latest()?.size ?? 0)) this.make().catch(() => undefined);
    }, seconds * 1000);
    this.timer.unref();
  }

  /** Stops the timer of {@link every}. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The stored checkpoint of exactly `size`, if any. */
  get(size: number): SignedCheckpoint | undefined {
    const note = this.store.checkpoints.get(size);
    if (note === undefined) return undefined;
    return { size, root: this.log.root(size), note };
  }

  /** The newest stored checkpoint. */
  latest(): SignedCheckpoint | undefined {
    // Explicit end (-1 < every size): lmdb-js 3.5 reverse iteration without one skips the smallest key.
    for (const { key, value } of this.store.checkpoints.getRange({
      start: Number.MAX_SAFE_INTEGER,
      end: -1,
      reverse: true,
      limit: 1,
    })) {
      return { size: key, root: key <= this.log.size ? this.log.root(key) : EMPTY_ROOT, note: value };
    }
    return undefined;
  }

  /** Every stored checkpoint note, by size. */
  *stored(): Generator<{ size: number; note: string }> {
    for (const { key, value } of this.store.checkpoints.getRange({})) yield { size: key, note: value };
  }

  /**
   * Offline proof for entry `index` in c2sp.org/tlog-proof@v1 form against the newest checkpoint that
   * covers it (making one if needed). The entry bytes ride in the `extra` line so the bundle alone
   * suffices: verify it with `verifyProofBundle` and the verifier key.
   *
   * With `size`, the proof is against the signed checkpoint of exactly that size: a stored one, or one
   * made now when `size` is the current durable size. Past sizes are never signed after the fact (a
   * checkpoint attests what the log was when it was signed), so any other size is refused.
   * @throws LedgerError `LEDGER_BAD_ARGUMENT` (index not below `size`, or no checkpoint of `size`).
   */
  async bundle(index: number, size?: number): Promise<string> {
    const data = this.log.entry(index);
    let cp = size === undefined ? this.latest() : this.get(size);
    if (size !== undefined) {
      if (index >= size)
        throw new LedgerError('LEDGER_BAD_ARGUMENT', `index ${index} is not in a tree of size ${size}`);
      if (!cp && size === this.log.size) cp = await this.make();
      if (cp?.size !== size) {
        const latest = this.latest()?.size;
        throw new LedgerError(
          'LEDGER_BAD_ARGUMENT',
          `no signed checkpoint of size ${size} (bundles need one; newest is ${latest ?? 'none'}, current size ${this.log.size}; \`sigil audit checkpoint\` signs the current size)`,
        );
      }
    } else if (!cp || cp.size <= index) cp = await this.make();
    const proof = this.log.inclusionProof(index, cp.size);
    const lines = [TLOG_PROOF_V1, `extra ${b64encode(data)}`, `index ${index}`, ...proof.map(b64encode)];
    return `${lines.join('\n')}\n\n${cp.note}`;
  }
}
