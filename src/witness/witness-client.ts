/**
 * The witness client: submits each checkpoint of the local log to every configured witness with a
 * consistency proof from the size that witness last cosigned (c2sp.org/tlog-witness §add-checkpoint),
 * verifies and stores the cosignatures (c2sp.org/tlog-cosignature), raises alarms, and refuses to start
 * over a local log that is behind or off what the witnesses cosigned (docs/witness.md).
 */
import { WitnessError } from './errors.js';
import { type CosignerKey, parseCosignerKey } from './lib/cosigner-key.js';
import { nodeVerify } from './lib/ed25519-node.js';
import { b64encode, type SignedCheckpointLike, type WitnessedLog } from './lib/log-port.js';
import { formatAddCheckpoint, parseCosignatureLines, parseSizeBody } from './lib/protocol.js';
import { readState, writeState } from './lib/state-file.js';
import type { WitnessMetrics } from './metrics.js';
import { splitNote, verifyCosignatureLines } from './verify-cosigned.js';

export type { WitnessedLog } from './lib/log-port.js';

/** A configured witness. */
export interface WitnessTarget {
  name: string;
  /** Submission prefix: `POST <url>/add-checkpoint`. */
  url: string;
  /** Cosigner vkey (type 0x04). */
  key: string;
}

/** Why a witness did not cosign. */
export type AlarmReason = 'down' | 'rollback' | 'fork' | 'rejected' | 'bad_response' | 'policy';

/** One witness's view, as the dashboard and `sigil audit checkpoint` show it. */
export interface WitnessStatus {
  name: string;
  url: string;
  /** Its cosigner vkey. */
  key: string;
  /** Latest size it cosigned for us (0 = never). */
  size: number;
  /** Epoch ms of its last cosignature. */
  lastCosigned?: number;
  alarm?: { reason: AlarmReason; message: string; since: number };
}

/** The result of witnessing one checkpoint. */
export interface WitnessedCheckpoint {
  size: number;
  /** The log's checkpoint note with every collected cosignature line appended. */
  note: string;
  cosigners: string[];
  policyMet: boolean;
}

/** Options of {@link WitnessClient}. */
export interface WitnessClientOptions {
  log: WitnessedLog;
  witnesses: readonly WitnessTarget[];
  /** k of the k-of-n policy. */
  k: number;
  /** `<data_dir>/witness/client.json`. */
  stateFile: string;
  /** Per-request timeout, ms (default 5000). */
  timeoutMs?: number;
  metrics?: WitnessMetrics;
  /** Alarm raised / cleared (pino in `sigil serve`). */
  onAlarm?: (witness: string, alarm: WitnessStatus['alarm'] | undefined) => void;
  now?: () => number;
}

interface ClientState {
  format: 'sigil-witness-client/v1';
  origin: string;
  witnesses: Record<string, { size: number; root: string; at: number }>;
  /** Newest cosigned checkpoints (at most {@link KEEP_COSIGNED}), oldest first. */
  cosigned: Array<{ size: number; note: string }>;
}

const FORMAT = 'sigil-witness-client/v1';
const KEEP_COSIGNED = 64;

type Outcome =
  | { ok: true; lines: string[]; size: number; root: Uint8Array }
  | { ok: false; reason: AlarmReason; message: string; witnessSize?: number };

/** Submits checkpoints to witnesses and keeps their cosignatures. */
export class WitnessClient {
  private state: ClientState;
  private readonly keys: CosignerKey[];
  private readonly status = new Map<string, WitnessStatus>();
  private readonly now: () => number;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Whether the last witnessed checkpoint met the policy (alarms are told on a change). */
  private policyMet = true;

  /** @throws WitnessError `WITNESS_BAD_REQUEST` (a bad key), `WITNESS_IO`. */
  constructor(private readonly o: WitnessClientOptions) {
    this.keys = o.witnesses.map((w) => {
      const key = parseCosignerKey(w.key);
      if (key.name !== w.name)
        throw new WitnessError(
          'WITNESS_BAD_REQUEST',
          `witness ${w.name}: key name "${key.name}" is not "${w.name}"`,
        );
      return key;
    });
    const origin = originOf(o.log);
    const fresh = (): ClientState => ({ format: FORMAT, origin, witnesses: {}, cosigned: [] });
    const read = readState<ClientState>(o.stateFile, FORMAT, fresh);
    // A new origin is a new log: what witnesses cosigned for the old one says nothing about it.
    this.state = read.origin === origin ? read : fresh();
    this.now = o.now ?? Date.now;
    for (const w of o.witnesses) {
      const s = this.state.witnesses[w.name];
      this.status.set(w.name, {
        name: w.name,
        url: w.url,
        key: w.key,
        size: s?.size ?? 0,
        ...(s ? { lastCosigned: s.at } : {}),
      });
      o.metrics?.cosignedSize.set({ witness: w.name }, s?.size ?? 0);
    }
  }

  /** Each witness's view. */
  statuses(): WitnessStatus[] {
    return this.o.witnesses.map((w) => ({ ...(this.status.get(w.name) as WitnessStatus) }));
  }

  /** The k of the policy and the number of witnesses. */
  get policy(): { k: number; n: number } {
    return { k: this.o.k, n: this.o.witnesses.length };
  }

  /** The newest cosigned checkpoint, if any. */
  latest(): { size: number; note: string } | undefined {
    return this.state.cosigned.at(-1);
  }

  /** The stored cosigned checkpoint of exactly `size`. */
  cosigned(size: number): { size: number; note: string } | undefined {
    return this.state.cosigned.find((c) => c.size === size);
  }

  /**
   * Start-up check (fail closed): the local log must hold, at every size a witness cosigned, the root it
   * cosigned (remembered in the data dir), and must not be behind what a reachable witness cosigned
   * (asked by submitting the current checkpoint: a witness answers 409 with its size).
   * @throws WitnessError `WITNESS_ROLLBACK`.
   */
  async checkStartup(): Promise<WitnessedCheckpoint> {
    const size = this.o.log.size;
    for (const [name, s] of Object.entries(this.state.witnesses)) {
      if (s.size > size)
        throw new WitnessError(
          'WITNESS_ROLLBACK',
          `witness ${name} cosigned size ${s.size} of ${this.state.origin}, the local log has ${size} entries: it was rolled back (restored from an old backup?)`,
        );
      if (b64encode(this.o.log.root(s.size)) !== s.root)
        throw new WitnessError(
          'WITNESS_ROLLBACK',
          `witness ${name} cosigned a different root at size ${s.size} of ${this.state.origin}: the local log is a fork`,
        );
    }
    const cp = await this.o.log.checkpoints.make();
    const result = await this.witness(cp);
    for (const st of this.status.values())
      if (st.alarm && (st.alarm.reason === 'rollback' || st.alarm.reason === 'fork'))
        throw new WitnessError('WITNESS_ROLLBACK', `witness ${st.name}: ${st.alarm.message}`);
    return result;
  }

  /** Witnesses the newest checkpoint every `seconds` when it is newer than the last witnessed one. */
  every(seconds: number): void {
    this.timer = setInterval(() => {
      const cp = this.o.log.checkpoints.latest();
      if (cp && cp.size > (this.latest()?.size ?? -1)) this.witness(cp).catch(() => undefined);
    }, seconds * 1000);
    this.timer.unref();
  }

  /** Stops {@link every}; waits for a submission under way. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => undefined);
  }

  /**
   * Submits `cp` to every witness (in parallel), keeps the cosignatures that verify, and stores the
   * cosigned note. Submissions run one checkpoint at a time (sizes only grow).
   */
  witness(cp: SignedCheckpointLike): Promise<WitnessedCheckpoint> {
    const run = this.chain.then(() => this.witnessNow(cp));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async witnessNow(cp: SignedCheckpointLike): Promise<WitnessedCheckpoint> {
    const started = this.now();
    const outcomes = await Promise.all(
      this.o.witnesses.map((w, i) => this.submit(w, this.keys[i] as CosignerKey, cp)),
    );
    const lines: string[] = [];
    const cosigners: string[] = [];
    const witnesses = { ...this.state.witnesses };
    outcomes.forEach((r, i) => {
      const w = this.o.witnesses[i] as WitnessTarget;
      const st = this.status.get(w.name) as WitnessStatus;
      if (r.ok) {
        lines.push(...r.lines);
        cosigners.push(w.name);
        witnesses[w.name] = { size: r.size, root: b64encode(r.root), at: this.now() };
        st.size = r.size;
        st.lastCosigned = this.now();
        this.o.metrics?.cosignedSize.set({ witness: w.name }, r.size);
        this.setAlarm(st, undefined);
      } else {
        this.setAlarm(st, { reason: r.reason, message: r.message, since: st.alarm?.since ?? this.now() });
      }
    });
    const note = `${cp.note}${lines.map((l) => `${l}\n`).join('')}`;
    const policyMet = cosigners.length >= this.o.k;
    const cosigned =
      cosigners.length > 0
        ? [...this.state.cosigned.filter((c) => c.size !== cp.size), { size: cp.size, note }].slice(
            -KEEP_COSIGNED,
          )
        : this.state.cosigned;
    const next: ClientState = { ...this.state, witnesses, cosigned };
    writeState(this.o.stateFile, next);
    this.state = next;
    this.o.metrics?.cosigners.set(cosigners.length);
    this.o.metrics?.policyMet.set(policyMet ? 1 : 0);
    this.o.metrics?.alarm.set({ witness: '*', reason: 'policy' }, policyMet ? 0 : 1);
    if (policyMet !== this.policyMet) {
      this.policyMet = policyMet;
      this.o.onAlarm?.(
        '*',
        policyMet
          ? undefined
          : {
              reason: 'policy',
              message: `checkpoint ${cp.size} has ${cosigners.length} cosignatures, ${this.o.k} required`,
              since: this.now(),
            },
      );
    }
    this.o.metrics?.latency.observe((this.now() - started) / 1000);
    return { size: cp.size, note, cosigners, policyMet };
  }

  private setAlarm(st: WitnessStatus, alarm: WitnessStatus['alarm'] | undefined): void {
    const before = st.alarm?.reason;
    if (alarm) st.alarm = alarm;
    else delete st.alarm;
    for (const reason of ['down', 'rollback', 'fork', 'rejected', 'bad_response'] as const)
      this.o.metrics?.alarm.set({ witness: st.name, reason }, alarm?.reason === reason ? 1 : 0);
    // Told on a change only: a witness that stays down is retried every second without a log line each time.
    if (before !== alarm?.reason) this.o.onAlarm?.(st.name, alarm);
  }

  private async submit(w: WitnessTarget, key: CosignerKey, cp: SignedCheckpointLike): Promise<Outcome> {
    const count = (result: string) => this.o.metrics?.submissions.inc({ witness: w.name, result });
    let old = this.state.witnesses[w.name]?.size ?? 0;
    if (old > cp.size) {
      count('refused');
      return {
        ok: false,
        reason: 'rollback',
        message: `cosigned size ${old} > local size ${cp.size}`,
        witnessSize: old,
      };
    }
    const { text } = splitNote(cp.note);
    // Two tries: the second after a 409 told us the witness's size (our record was lost or stale).
    for (let attempt = 0; attempt < 2; attempt++) {
      const proof = old === 0 || old === cp.size ? [] : this.o.log.consistencyProof(old, cp.size);
      let res: Response;
      let body: string;
      try {
        res = await fetch(`${w.url.replace(/\/$/, '')}/add-checkpoint`, {
          method: 'POST',
          body: formatAddCheckpoint(old, proof, cp.note),
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000),
        });
        body = await res.text();
      } catch (e) {
        count('down');
        return { ok: false, reason: 'down', message: `unreachable: ${(e as Error).message}` };
      }
      if (res.status === 200) {
        try {
          const lines = parseCosignatureLines(body);
          const ok = verifyCosignatureLines(text, lines, [key], nodeVerify);
          if (ok.length === 0)
            throw new WitnessError('WITNESS_BAD_REQUEST', 'no cosignature by its configured key');
          count('cosigned');
          // Only the lines of the configured key are kept (the client MUST ignore unknown keys).
          const mine = lines.filter((l) => l.startsWith(`\u2014 ${key.name} `));
          return { ok: true, lines: mine, size: cp.size, root: cp.root };
        } catch (e) {
          count('bad_response');
          return { ok: false, reason: 'bad_response', message: `bad cosignature: ${(e as Error).message}` };
        }
      }
      if (res.status === 409) {
        let theirs: number;
        try {
          theirs = parseSizeBody(body);
        } catch {
          count('bad_response');
          return { ok: false, reason: 'bad_response', message: 'unreadable 409 body' };
        }
        count('conflict');
        if (theirs > cp.size)
          return {
            ok: false,
            reason: 'rollback',
            message: `witness cosigned size ${theirs}, the local log has ${cp.size}: the log was rolled back or another instance with this key is ahead`,
            witnessSize: theirs,
          };
        if (theirs === old || attempt === 1) break;
        old = theirs;
        continue;
      }
      count('refused');
      if (res.status === 422)
        return {
          ok: false,
          reason: 'fork',
          message: `refused as inconsistent with what it cosigned (size ${old}): ${body.trim().slice(0, 200)}`,
        };
      if (res.status === 403 || res.status === 404)
        return { ok: false, reason: 'rejected', message: `HTTP ${res.status}: ${body.trim().slice(0, 200)}` };
      return {
        ok: false,
        reason: 'bad_response',
        message: `HTTP ${res.status}: ${body.trim().slice(0, 200)}`,
      };
    }
    return { ok: false, reason: 'bad_response', message: 'witness keeps answering 409' };
  }
}

function originOf(log: WitnessedLog): string {
  return log.checkpoints.verifierKey.split('+', 1)[0] as string;
}
