/**
 * SIGIL as a witness: the c2sp.org/tlog-witness `add-checkpoint` and monitoring endpoints over a crash-safe
 * record of the latest checkpoint cosigned per log origin (docs/witness.md §SIGIL as a witness).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  b64decode,
  b64encode,
  EMPTY_ROOT,
  type NoteVerifier,
  parseCheckpoint,
  parseVerifierKey,
  verifyConsistency,
} from '../ledger/browser.js';
import { type Cosigner, cosign } from './cosign.js';
import { WitnessError } from './errors.js';
import { checkLogSignature } from './lib/ed25519-node.js';
import { MAX_BODY_BYTES, parseAddCheckpoint, SIZE_CONTENT_TYPE } from './lib/protocol.js';
import { readState, writeState } from './lib/state-file.js';
import { splitNote } from './verify-cosigned.js';

/** A log this witness accepts checkpoints from. */
export interface KnownLog {
  origin: string;
  /** Note verifier keys of the log (`<origin>+<id>+<base64(0x01 ‖ key)>`). */
  keys: string[];
}

/** Options of {@link WitnessService}. */
export interface WitnessServiceOptions {
  cosigner: Cosigner;
  logs: readonly KnownLog[];
  /** The state file (`<data_dir>/witness/witnessed.json`). */
  stateFile: string;
  /** Epoch ms (tests). */
  now?: () => number;
  /** Told of every refused checkpoint from a known log (possible evidence of misbehaviour). */
  onRefused?: (origin: string, code: string, status: number, message: string) => void;
}

/** The answer to one request. */
export interface WitnessResponse {
  status: number;
  contentType: string;
  body: string;
}

interface LogRecord {
  size: number;
  root: string;
  /** The log's checkpoint with this witness's cosignature appended (served to monitors). */
  note: string;
}
interface WitnessState {
  format: 'sigil-witness/v1';
  logs: Record<string, LogRecord>;
}

const FORMAT = 'sigil-witness/v1';

/** The witness: verifies, checks consistency, persists, then cosigns (c2sp.org/tlog-witness). */
export class WitnessService {
  private readonly logs = new Map<string, NoteVerifier[]>();
  private state: WitnessState;
  private readonly now: () => number;
  private pending: Promise<void> | undefined;
  private broken: WitnessError | undefined;

  /** @throws WitnessError `WITNESS_IO` (unreadable state), `WITNESS_BAD_REQUEST` (bad log key). */
  constructor(private readonly o: WitnessServiceOptions) {
    for (const l of o.logs) {
      try {
        this.logs.set(
          l.origin,
          l.keys.map((k) => parseVerifierKey(k)),
        );
      } catch (e) {
        throw new WitnessError('WITNESS_BAD_REQUEST', `log ${l.origin}: ${(e as Error).message}`, e);
      }
    }
    this.state = readState<WitnessState>(o.stateFile, FORMAT, () => ({ format: FORMAT, logs: {} }));
    this.now = o.now ?? Date.now;
  }

  /** This witness's cosigner vkey. */
  get vkey(): string {
    return this.o.cosigner.vkey;
  }

  /** Latest cosigned size per origin. */
  sizes(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.state.logs).map(([k, v]) => [k, v.size]));
  }

  /**
   * Handles one add-checkpoint body. The check and the in-memory update happen in one synchronous step, so
   * two requests can never both pass the old-size check (tlog-witness: "must be performed atomically");
   * the answer waits until a state write covering the update is durable ("MUST persist the new checkpoint
   * before responding"). Updates made while a write is pending share it (group commit: one fsync pair for
   * a batch). A failed write stops the witness (`WITNESS_IO` from then on): the state in memory may be
   * ahead of the disk, and restarting re-reads the last durable state.
   */
  async addCheckpoint(body: string): Promise<WitnessResponse> {
    try {
      const line = this.add(body);
      await this.persist();
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: line };
    } catch (e) {
      if (e instanceof WitnessError) {
        if (e.code === 'WITNESS_CONFLICT')
          return { status: 409, contentType: SIZE_CONTENT_TYPE, body: e.message };
        return {
          status: e.httpStatus,
          contentType: 'text/plain; charset=utf-8',
          body: `${e.code}: ${e.message}\n`,
        };
      }
      throw e;
    }
  }

  /** Resolves once the state as it is now is on disk; one write serves every update made before it starts. */
  private persist(): Promise<void> {
    this.pending ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.pending = undefined;
        try {
          writeState(this.o.stateFile, this.state);
          resolve();
        } catch (e) {
          this.broken = e as WitnessError;
          reject(e);
        }
      });
    });
    return this.pending;
  }

  private add(body: string): string {
    if (this.broken)
      throw new WitnessError('WITNESS_IO', `the state file could not be written: ${this.broken.message}`);
    const req = parseAddCheckpoint(body);
    let text: string;
    let cp: ReturnType<typeof parseCheckpoint>;
    try {
      text = splitNote(req.note).text;
      cp = parseCheckpoint(text);
    } catch (e) {
      throw new WitnessError('WITNESS_BAD_REQUEST', `malformed checkpoint: ${(e as Error).message}`, e);
    }
    const keys = this.logs.get(cp.origin);
    if (!keys) throw new WitnessError('WITNESS_UNKNOWN_LOG', `unknown log origin "${cp.origin}"`);
    const refused = (
      code: 'WITNESS_BAD_SIGNATURE' | 'WITNESS_BAD_PROOF' | 'WITNESS_BAD_REQUEST',
      why: string,
    ) => {
      const err = new WitnessError(code, why);
      this.o.onRefused?.(cp.origin, code, err.httpStatus, why);
      return err;
    };
    // "MUST verify the checkpoint signature against the public key(s) it trusts for the origin" → 403.
    const signed = checkLogSignature(req.note, keys);
    if (signed === 'malformed') throw refused('WITNESS_BAD_REQUEST', 'malformed note');
    if (signed === 'bad')
      throw refused('WITNESS_BAD_SIGNATURE', `checkpoint of ${cp.origin} is not signed by a trusted key`);
    // "The old size MUST be equal to or lower than the checkpoint size" → 400.
    if (req.old > cp.size)
      throw refused('WITNESS_BAD_REQUEST', `old size ${req.old} is above checkpoint size ${cp.size}`);
    const known = this.state.logs[cp.origin];
    const knownSize = known?.size ?? 0;
    // "MUST check that the old size matches the size of the latest checkpoint it cosigned" → 409 + size.
    if (req.old !== knownSize) {
      this.o.onRefused?.(cp.origin, 'WITNESS_CONFLICT', 409, `old ${req.old}, witnessed ${knownSize}`);
      throw new WitnessError('WITNESS_CONFLICT', `${knownSize}\n`);
    }
    // "A checkpoint of size zero MUST have the root hash of the empty tree" → 422.
    if (cp.size === 0 && b64encode(cp.root) !== b64encode(EMPTY_ROOT))
      throw refused('WITNESS_BAD_PROOF', 'a checkpoint of size 0 must have the empty root');
    if (req.old === 0) {
      // "If the old size is zero, the consistency proof MUST be empty" → 422.
      if (req.proof.length > 0) throw refused('WITNESS_BAD_PROOF', 'proof must be empty from size 0');
    } else {
      // RFC 6962 §2.1.2 consistency (same size: empty proof and identical roots), verified per RFC 9162 §2.1.4.2.
      const oldRoot = b64decode(known?.root ?? '') ?? new Uint8Array(0);
      if (!verifyConsistency(req.old, cp.size, req.proof, oldRoot, cp.root))
        throw refused(
          'WITNESS_BAD_PROOF',
          `checkpoint ${cp.size} of ${cp.origin} is not consistent with the cosigned ${req.old}`,
        );
    }
    const line = cosign(text, this.o.cosigner, Math.max(1, Math.floor(this.now() / 1000)));
    const next: LogRecord = { size: cp.size, root: b64encode(cp.root), note: `${req.note}${line}` };
    const state: WitnessState = { format: FORMAT, logs: { ...this.state.logs, [cp.origin]: next } };
    // Persisted by addCheckpoint before the answer goes out.
    this.state = state;
    return line;
  }

  /** The latest cosigned checkpoint of the log whose origin hashes (SHA-256, lowercase hex) to `originHash`. */
  checkpoint(originHash: string): string | undefined {
    for (const [origin, rec] of Object.entries(this.state.logs))
      if (createHash('sha256').update(origin).digest('hex') === originHash) return rec.note;
    return undefined;
  }

  /**
   * Forgets `origin` (operator recovery after a log was legitimately restarted, docs/witness.md §Recovery):
   * the next checkpoint of that origin is accepted from size 0.
   */
  forget(origin: string): boolean {
    if (!this.state.logs[origin]) return false;
    const logs = { ...this.state.logs };
    delete logs[origin];
    const state: WitnessState = { format: FORMAT, logs };
    writeState(this.o.stateFile, state);
    this.state = state;
    return true;
  }
}

/**
 * An HTTP handler for `POST <prefix>/add-checkpoint` and `GET <prefix>/<origin hash>/checkpoint`
 * (tlog-witness §add-checkpoint, §Monitor Retrieval Mechanism); returns false for other paths.
 */
export function witnessHandler(
  service: WitnessService,
  prefix = '/witness',
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const send = (res: ServerResponse, r: WitnessResponse) => {
    res.writeHead(r.status, { 'content-type': r.contentType, 'content-length': Buffer.byteLength(r.body) });
    res.end(r.body);
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (!path.startsWith(`${prefix}/`)) return false;
    const rest = path.slice(prefix.length + 1);
    if (rest === 'add-checkpoint') {
      if (req.method !== 'POST') {
        send(res, { status: 405, contentType: 'text/plain', body: 'POST only\n' });
        return true;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) over = true;
        else chunks.push(c);
      });
      req.on('end', () => {
        if (over) return send(res, { status: 413, contentType: 'text/plain', body: 'body too large\n' });
        service.addCheckpoint(Buffer.concat(chunks).toString('utf8')).then(
          (r) => send(res, r),
          (e: unknown) => {
            const err = e instanceof WitnessError ? e : new WitnessError('WITNESS_IO', 'witness failure', e);
            send(res, { status: err.httpStatus, contentType: 'text/plain', body: `${err.code}\n` });
          },
        );
      });
      return true;
    }
    const m = /^([0-9a-f]{64})\/checkpoint$/.exec(rest);
    if (m && (req.method === 'GET' || req.method === 'HEAD')) {
      const note = service.checkpoint(m[1] as string);
      send(
        res,
        note === undefined
          ? { status: 404, contentType: 'text/plain', body: 'no cosigned checkpoint for this log\n' }
          : { status: 200, contentType: 'text/plain; charset=utf-8', body: note },
      );
      return true;
    }
    return false;
  };
}
