/** Prometheus metrics of the witness client and the witness endpoint (docs/witness.md §Metrics). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The witness metrics, registered on the admin registry. */
export interface WitnessMetrics {
  /** Latest tree size each witness cosigned for this log. */
  cosignedSize: Gauge<'witness'>;
  /** 1 while an alarm of `reason` is raised for `witness` (down, rollback, fork, rejected, bad_response, policy). */
  alarm: Gauge<'witness' | 'reason'>;
  /** add-checkpoint submissions by result (cosigned, conflict, refused, down, bad_response). */
  submissions: Counter<'witness' | 'result'>;
  /** Distinct witnesses that cosigned the latest cosigned checkpoint. */
  cosigners: Gauge;
  /** 1 when the latest checkpoint meets the k-of-n policy. */
  policyMet: Gauge;
  /** Checkpoint made → cosignatures collected, seconds. */
  latency: Histogram;
  /** Checkpoints this sidecar's witness endpoint refused, by origin and HTTP status. */
  refused: Counter<'origin' | 'status'>;
}

/** Creates and registers the witness metrics on `registry`. */
export function witnessMetrics(registry: Registry): WitnessMetrics {
  const registers = [registry];
  return {
    cosignedSize: new Gauge({
      name: 'sigil_witness_cosigned_size',
      help: 'Latest tree size each witness cosigned',
      labelNames: ['witness'],
      registers,
    }),
    alarm: new Gauge({
      name: 'sigil_witness_alarm',
      help: '1 while a witness alarm is raised (reason: down, rollback, fork, rejected, bad_response, policy)',
      labelNames: ['witness', 'reason'],
      registers,
    }),
    submissions: new Counter({
      name: 'sigil_witness_submissions_total',
      help: 'add-checkpoint submissions to witnesses by result',
      labelNames: ['witness', 'result'],
      registers,
    }),
    cosigners: new Gauge({
      name: 'sigil_witness_cosigners',
      help: 'Witnesses that cosigned the latest cosigned checkpoint',
      registers,
    }),
    policyMet: new Gauge({
      name: 'sigil_witness_policy_met',
      help: '1 when the latest checkpoint has at least k cosignatures',
      registers,
    }),
    latency: new Histogram({
      name: 'sigil_witness_cosign_seconds',
      help: 'Checkpoint to cosignatures collected',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    refused: new Counter({
      name: 'sigil_witness_refused_total',
      help: 'Checkpoints refused by this sidecar as a witness',
      labelNames: ['origin', 'status'],
      registers,
    }),
  };
}
