/**
 * A Check worker's replay cache (docs/workers.md §4): spends go to the one cache the primary owns, so a proof
 * replayed on another worker is denied too. The transport (the cluster IPC request) is the caller's; this adds the
 * deadline that makes "no answer" a deny instead of a hung Check.
 */
import type { ReplaySpender } from './check-proof.js';
import type { SpendResult } from './lib/replay-cache.js';

/** Sends one spend to the primary; resolves with the primary cache's answer. */
export type SpendRequest = (jti: string, untilMs: number, nowMs: number) => Promise<SpendResult>;

/**
 * A {@link ReplaySpender} that asks `request` and gives up after `timeoutMs`: a rejection or the deadline denies the
 * proof AUTHZ_PROOF_CACHE_UNAVAILABLE (createProofCheck maps it). A late answer is ignored: the jti may then be
 * spent in the primary for a request this worker denied, which only ever denies more.
 */
export function remoteReplayCache(request: SpendRequest, timeoutMs: number): ReplaySpender {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new RangeError('timeoutMs must be a positive integer');
  return {
    spend(jti, untilMs, nowMs) {
      return new Promise<SpendResult>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
        request(jti, untilMs, nowMs).then(
          (r) => {
            clearTimeout(timer);
            resolve(r);
          },
          (e: unknown) => {
            clearTimeout(timer);
            reject(e);
          },
        );
      });
    },
  };
}
