/** Shared constants between the main thread and the policy evaluation worker. */

/** Int32 slots at the start of the shared buffer: [state, result length]. */
export const HEADER_BYTES = 8;

/** Values of the state slot. */
export const WorkerState = { Pending: 0, Done: 1, Error: 2 } as const;
/** One of {@link WorkerState}'s values. */
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

/** Passed as workerData. */
export interface WorkerData {
  bundle: Uint8Array;
  entrypoint: string;
  maxMemoryPages: number;
  sab: SharedArrayBuffer;
}

/** One evaluation request. */
export interface WorkerJob {
  /** Input document as JSON text. */
  input: string;
  /** time.now_ns() for this evaluation, decimal. */
  nowNs: string;
}
