/**
 * The messages between the primary and a Check worker (docs/authz.md §12; what the state messages carry and how a
 * worker applies them: docs/workers.md), over {@link IpcChannel}. Every payload is structured-cloneable (plain
 * objects, strings, numbers, Uint8Array): no KeyObject, no functions.
 */
import type { SpendResult } from '../../authz/index.js';
import type { SigilConfig } from '../../config/index.js';
import type { PolicyEvalOptions } from '../../policy/index.js';
import type { TrustSnapshot } from '../../token/api.js';

/** A policy bundle as it crosses: the bytes exactly as the primary fetched them and their revision. */
export interface PolicyBundleMessage {
  bytes: Uint8Array;
  revision: string;
}

/**
 * primary → worker `init`: everything a worker needs to decide, before it listens (`listen` comes after the
 * primary brought it to the current state). Answered with the worker's pid.
 */
export interface WorkerInit {
  config: SigilConfig;
  /** Stable slot number 0..N-1 (a re-forked worker takes its predecessor's): the `worker` metric label. */
  slot: number;
  /** Where to listen: `sigil.authz.listen`, with the port the first worker bound when that was 0. */
  listen: string;
  drainMs: number;
  /** The primary's trust now (docs/workers.md §2). */
  trust: TrustSnapshot;
  /** How the primary evaluates its policy, when `sigil.policy.bundle` is set (docs/workers.md §3). */
  policy?: { options: PolicyEvalOptions; bundle: PolicyBundleMessage | undefined };
  /** Spend proof jtis in the primary's one replay cache (docs/workers.md §4). */
  replay: boolean;
  /** The ledger's checkpoint origin, for the receipt text (the primary answers an append with index and leaf). */
  origin: string;
}

/** A worker's answer to `listen`, once its gRPC server listens. */
export interface WorkerHello {
  pid: number;
  address: string;
  port: number;
}

/** worker → primary `spend`: a proof's jti in the primary's replay cache — [jti, untilMs, nowMs]. */
export type SpendRequest = [jti: string, untilMs: number, nowMs: number];

/** The primary's answer to `spend`. */
export type SpendAnswer = SpendResult;

/** Method names, so both sides spell them once. */
export const METHOD = {
  /** primary → worker: {@link WorkerInit} → the worker's pid. */
  init: 'init',
  /** primary → worker: start the gRPC server → {@link WorkerHello}. */
  listen: 'listen',
  /** primary → worker: a TrustSnapshot → the applied version. */
  trust: 'trust',
  /** primary → worker: a {@link PolicyBundleMessage} → the revision in force. */
  policy: 'policy',
  /** primary → worker: stop accepting, drain in-flight Checks (their appends complete) → undefined. */
  drain: 'drain',
  /** primary → worker: prom-client `getMetricsAsJSON()` of the worker's registry. */
  metrics: 'metrics',
  /** worker → primary: the decision records of one turn as one Uint8Array → their receipts (record-batch.ts). */
  append: 'append',
  /** worker → primary: {@link SpendRequest} → {@link SpendAnswer}. */
  spend: 'spend',
} as const;
