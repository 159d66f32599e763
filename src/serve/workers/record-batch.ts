/**
 * Decision records from Check workers to the primary as bytes (docs/authz.md §12 "Recording"): a worker encodes
 * each record to its canonical ledger bytes itself, and the records of one event-loop turn cross as ONE
 * `Uint8Array` (v8 serialize of one typed array is a copy, not a walk over an object graph); the primary answers
 * with one `Uint8Array` of receipts (entry index and RFC 6962 leaf hash; the worker formats the receipt text).
 * The primary stores the bytes as they came, and only when they are exactly the canonical encoding of a valid
 * record (`MerkleLog.appendDecisionBytes`): a worker is our code, but a bug in it must not corrupt the log.
 *
 * Batch (worker → primary), per record: `u8 flags` (1 = verified caller, 2 = a source follows), [`u16 n`, n
 * bytes of UTF-8 source address], `u32 n`, n bytes of canonical record. Answer, per record in the same order:
 * `0`, `f64 index`, 32-byte leaf hash (appended); or `1` (an unauthenticated deny, aggregated: no receipt); or
 * `2`, `u8 n`, n bytes of ASCII error code (refused or failed: nothing appended for it).
 */
import type { DecisionReceipt } from '../../authz/index.js';
import { decodeRecord, encodeRecord, type MerkleLog } from '../../ledger/index.js';
import type { DecisionRecord } from '../../ledger/record.js';
import { isAggregated, receiptText } from '../ledger-sink.js';
import type { UnauthenticatedDenies } from '../unauthenticated-denies.js';
import { WorkersError } from './errors.js';

const VERIFIED = 1;
const HAS_SOURCE = 2;
const APPENDED = 0;
const AGGREGATED = 1;
const FAILED = 2;
const LEAF_BYTES = 32;
/** A source address longer than this is cut (it only keys the aggregation of unauthenticated denies). */
const MAX_SOURCE_BYTES = 0xffff;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

const bad = (what: string) => new WorkersError('WORKERS_BAD_MESSAGE', `malformed record batch: ${what}`);

/** One record as the worker queues it. */
interface Queued {
  bytes: Uint8Array;
  verified: boolean;
  source: Uint8Array | undefined;
  resolve(r: DecisionReceipt | undefined): void;
  reject(e: Error): void;
}

/** Packs the queued records (worker side). */
function encodeBatch(q: readonly Queued[]): Uint8Array {
  let size = 0;
  for (const r of q) size += 1 + (r.source ? 2 + r.source.length : 0) + 4 + r.bytes.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const r of q) {
    out[o++] = (r.verified ? VERIFIED : 0) | (r.source ? HAS_SOURCE : 0);
    if (r.source) {
      dv.setUint16(o, r.source.length);
      out.set(r.source, o + 2);
      o += 2 + r.source.length;
    }
    dv.setUint32(o, r.bytes.length);
    out.set(r.bytes, o + 4);
    o += 4 + r.bytes.length;
  }
  return out;
}

/** One record of a batch, as the primary reads it. */
export interface BatchedRecord {
  bytes: Uint8Array;
  verified: boolean;
  source: string | undefined;
}

/**
 * Unpacks a batch (primary side), all of it before anything is appended: a batch that does not parse is
 * refused whole. @throws WorkersError `WORKERS_BAD_MESSAGE`.
 */
export function decodeBatch(batch: unknown): BatchedRecord[] {
  if (!(batch instanceof Uint8Array)) throw bad('not bytes');
  const dv = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const out: BatchedRecord[] = [];
  let o = 0;
  const need = (n: number) => {
    if (o + n > batch.length) throw bad(`truncated at byte ${o}`);
  };
  while (o < batch.length) {
    const flags = batch[o++] as number;
    if (flags & ~(VERIFIED | HAS_SOURCE)) throw bad(`unknown flags ${flags}`);
    let source: string | undefined;
    if (flags & HAS_SOURCE) {
      need(2);
      const n = dv.getUint16(o);
      need(2 + n);
      try {
        source = fromUtf8.decode(batch.subarray(o + 2, o + 2 + n));
      } catch {
        throw bad('source is not UTF-8');
      }
      o += 2 + n;
    }
    need(4);
    const n = dv.getUint32(o);
    need(4 + n);
    out.push({ bytes: batch.subarray(o + 4, o + 4 + n), verified: (flags & VERIFIED) !== 0, source });
    o += 4 + n;
  }
  return out;
}

/** What one record came to: appended (index, leaf hash), aggregated (no receipt), or failed (its code). */
type Outcome = { index: number; leafHash: Uint8Array } | undefined | { code: string };

const codeOf = (e: unknown): string => {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'string' && /^[A-Z][A-Z0-9_]{0,127}$/.test(c) ? c : 'INTERNAL';
};

const failed = (e: unknown): Outcome => ({ code: codeOf(e) });

function encodeAnswer(outcomes: readonly Outcome[]): Uint8Array {
  let size = 0;
  for (const r of outcomes)
    size += r === undefined ? 1 : 'code' in r ? 2 + r.code.length : 1 + 8 + LEAF_BYTES;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const r of outcomes) {
    if (r === undefined) out[o++] = AGGREGATED;
    else if ('code' in r) {
      out[o] = FAILED;
      out[o + 1] = r.code.length;
      out.set(utf8.encode(r.code), o + 2);
      o += 2 + r.code.length;
    } else {
      out[o] = APPENDED;
      dv.setFloat64(o + 1, r.index);
      out.set(r.leafHash, o + 9);
      o += 9 + LEAF_BYTES;
    }
  }
  return out;
}

/** Where the primary puts the workers' records: the one ledger, and the unauthenticated-deny aggregation. */
export interface RecordIntake {
  log: MerkleLog;
  /** `sigil.audit.unauthenticated` (docs/ledger.md §4): denies of an unverified caller are counted here. */
  denies?: UnauthenticatedDenies;
}

/**
 * The primary's handler of one batch: each record is validated and appended (or, an unauthenticated deny,
 * aggregated) in batch order, so indices follow the worker's order; resolves with the packed answer once every
 * record is durable or failed. A record that is not the canonical encoding of a valid record fails alone with
 * `LEDGER_RECORD_INVALID` and nothing is appended for it. @throws WorkersError `WORKERS_BAD_MESSAGE` (the whole
 * batch, before anything is appended).
 */
export async function appendBatch(intake: RecordIntake, batch: unknown): Promise<Uint8Array> {
  const records = decodeBatch(batch);
  // Appended in this loop, synchronously: indices follow the batch's order. One promise per record.
  const pending = records.map((r): Outcome | Promise<Outcome> => {
    try {
      if (!r.verified && intake.denies) {
        const record = decodeRecord(r.bytes);
        if (isAggregated(record.decision, r.verified)) {
          intake.denies.add(record, r.source);
          return undefined;
        }
      }
      return intake.log.appendDecisionBytes(r.bytes).then(undefined, failed);
    } catch (e) {
      return failed(e);
    }
  });
  return encodeAnswer(await Promise.all(pending));
}

/**
 * A worker's side: queues each decision record (encoded here to its canonical bytes) and sends the records of
 * one event-loop turn as one request, in the turn's one IPC message (`send`: {@link IpcChannel.callAtFlush}).
 */
export class RecordBatcher {
  private queue: Queued[] = [];

  constructor(
    private readonly send: (build: () => Uint8Array) => Promise<unknown>,
    /** The ledger's checkpoint origin, for the receipt text. */
    private readonly origin: string,
  ) {}

  /**
   * Resolves with the record's receipt once the primary has it durably; undefined for an aggregated
   * unauthenticated deny. Rejects with `LEDGER_RECORD_INVALID` when the record does not encode (nothing was
   * sent), or a WorkersError (the primary's code in `remoteCode`) when the primary did not append it.
   */
  append(
    record: DecisionRecord,
    verified: boolean,
    source: string | undefined,
  ): Promise<DecisionReceipt | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = encodeRecord(record);
    } catch (e) {
      return Promise.reject(e);
    }
    let src: Uint8Array | undefined;
    if (source !== undefined) {
      src = utf8.encode(source);
      if (src.length > MAX_SOURCE_BYTES) src = src.subarray(0, MAX_SOURCE_BYTES);
    }
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) {
        const q = this.queue;
        this.send(() => {
          this.queue = [];
          return encodeBatch(q);
        }).then(
          (answer) => this.settle(q, answer),
          (e: Error) => {
            // Not sent (the channel closed first): later records start a batch of their own.
            if (this.queue === q) this.queue = [];
            for (const r of q) r.reject(e);
          },
        );
      }
      this.queue.push({ bytes, verified, source: src, resolve, reject });
    });
  }

  /** Hands each queued record its outcome; an answer that does not parse fails every one (closed). */
  private settle(q: readonly Queued[], answer: unknown): void {
    let i = 0;
    try {
      if (!(answer instanceof Uint8Array)) throw bad('answer is not bytes');
      const dv = new DataView(answer.buffer, answer.byteOffset, answer.byteLength);
      const out: (() => void)[] = [];
      let o = 0;
      for (; i < q.length; i++) {
        const r = q[i] as Queued;
        const tag = answer[o];
        const index = tag === APPENDED && o + 9 + LEAF_BYTES <= answer.length ? dv.getFloat64(o + 1) : -1;
        if (Number.isSafeInteger(index) && index >= 0) {
          const leaf = answer.subarray(o + 9, o + 9 + LEAF_BYTES);
          const receipt = { index, receipt: receiptText(index, leaf, this.origin) };
          out.push(() => r.resolve(receipt));
          o += 9 + LEAF_BYTES;
        } else if (tag === AGGREGATED) {
          out.push(() => r.resolve(undefined));
          o += 1;
        } else if (tag === FAILED && o + 2 + (answer[o + 1] ?? 0) <= answer.length) {
          const n = answer[o + 1] as number;
          const code = String.fromCharCode(...answer.subarray(o + 2, o + 2 + n));
          const e = new WorkersError(
            'WORKERS_REMOTE_FAILED',
            `${code}: the primary did not append the record`,
            {
              remoteCode: code,
            },
          );
          out.push(() => r.reject(e));
          o += 2 + n;
        } else throw bad(`answer ${i} of ${q.length}`);
      }
      if (o !== answer.length) throw bad('answer longer than the batch');
      for (const f of out) f();
    } catch (e) {
      for (const r of q) r.reject(e as Error);
    }
  }
}
