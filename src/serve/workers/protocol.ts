/**
 * The messages between the primary and a Check worker (docs/authz.md §12), over {@link IpcChannel}. Every
 * payload is structured-cloneable (plain objects, strings, numbers): no KeyObject, no functions.
 */
import type { DecisionReceipt } from '../../authz/index.js';
import type { SigilConfig } from '../../config/index.js';
import type { DecisionRecord } from '../../ledger/record.js';
import type { TrustSnapshot } from './trust-mirror.js';

/** primary → worker `init`: everything a worker needs before it listens. Answered with {@link WorkerHello}. */
export interface WorkerInit {
  config: SigilConfig;
  /** Stable slot number 0..N-1 (a re-forked worker takes its predecessor's): the `worker` metric label. */
  slot: number;
  /** Where to listen: `sigil.authz.listen`, with the port the first worker bound when that was 0. */
  listen: string;
  trust: TrustSnapshot;
  drainMs: number;
}

/** A worker's answer to `init`, once its gRPC server listens. */
export interface WorkerHello {
  pid: number;
  address: string;
  port: number;
}

/** worker → primary `append`: one decision for the ledger — [record, verified caller, source address]. */
export type AppendRequest = [record: DecisionRecord, verified: boolean, source: string | undefined];

/** The primary's answer to `append`: the receipt, or null for an aggregated unauthenticated deny. */
export type AppendAnswer = DecisionReceipt | null;

/** Method names, so both sides spell them once. */
export const METHOD = {
  /** primary → worker: {@link WorkerInit} → {@link WorkerHello}. */
  init: 'init',
  /** primary → worker: a {@link TrustSnapshot} → the applied version. */
  trust: 'trust',
  /** primary → worker: stop accepting, drain in-flight Checks (their appends complete) → undefined. */
  drain: 'drain',
  /** primary → worker: prom-client `getMetricsAsJSON()` of the worker's registry. */
  metrics: 'metrics',
  /** worker → primary: {@link AppendRequest} → {@link AppendAnswer}. */
  append: 'append',
} as const;
