/**
 * The mesh collector (`sigil audit collect`, docs/witness.md §Collector): asks several sidecars for the
 * entries of one task and keeps only answers whose proof verifies — the log's signature with the pinned
 * log key, the entry's inclusion (RFC 6962 §2.1.1), and at least k witness cosignatures on the checkpoint.
 */
import { WitnessError } from './errors.js';
import type { CollectResponse } from './mesh-routes.js';
import { type VerifiedAnswer, verifyAnswer } from './verify-answer.js';
import type { WitnessPolicy } from './witness-policy.js';

/** A sidecar to poll. */
export interface CollectSource {
  name: string;
  /** Its admin server URL (`http://host:port`). */
  url: string;
  /** Its admin token. */
  token: string;
  /** Its log's verifier key, pinned (`<origin>+<id>+<key>`). */
  logKey: string;
}

/** A verified answer. */
export interface CollectedEntry extends VerifiedAnswer {
  sidecar: string;
  /** The tlog-proof bundle, checkable offline (test/interop: Go's verifier). */
  bundle: string;
}

/** What `sigil audit collect` prints. */
export interface CollectReport {
  task: string;
  answers: CollectedEntry[];
  /** Entries newer than the sidecar's newest cosigned checkpoint (no cosigned proof yet). */
  pending: Array<{ sidecar: string; index: number }>;
  /** Sidecars that could not be asked, or answered with something that did not verify. */
  errors: Array<{ sidecar: string; code: string; message: string }>;
}

/** Options of {@link collect}. */
export interface CollectOptions {
  task: string;
  sources: readonly CollectSource[];
  /** Witnesses and quorum (c2sp.org/tlog-policy; {@link thresholdPolicy} for k of n). */
  policy: WitnessPolicy;
  timeoutMs?: number;
}

/** Polls every source and verifies every answer; a source that fails is reported, never trusted. */
export async function collect(o: CollectOptions): Promise<CollectReport> {
  const report: CollectReport = { task: o.task, answers: [], pending: [], errors: [] };
  await Promise.all(
    o.sources.map(async (s) => {
      try {
        const res = await fetch(
          `${s.url.replace(/\/$/, '')}/witness/collect?task=${encodeURIComponent(o.task)}`,
          {
            headers: { authorization: `Bearer ${s.token}` },
            signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
          },
        );
        if (res.status !== 200)
          throw new WitnessError(
            'WITNESS_UNAVAILABLE',
            `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`,
          );
        const body = (await res.json()) as CollectResponse;
        for (const a of body.answers) {
          const v = verifyAnswer(a.bundle, { index: a.index, logKey: s.logKey, policy: o.policy });
          report.answers.push({ sidecar: s.name, ...v, bundle: a.bundle });
        }
        for (const index of body.pending) report.pending.push({ sidecar: s.name, index });
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'WITNESS_UNAVAILABLE';
        report.errors.push({ sidecar: s.name, code, message: (e as Error).message });
      }
    }),
  );
  report.answers.sort(
    (a, b) => a.record.ts - b.record.ts || a.sidecar.localeCompare(b.sidecar) || a.index - b.index,
  );
  return report;
}
