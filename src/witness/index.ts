/**
 * Witnessing (docs/witness.md): the C2SP tlog-witness client that gets the ledger's checkpoints cosigned,
 * SIGIL as a tlog-witness for other logs, cosignature/v1 verification with a k-of-n policy, and the
 * cross-sidecar audit collector.
 */
export {
  type CollectedEntry,
  type CollectOptions,
  type CollectReport,
  type CollectSource,
  collect,
} from './collect.js';
export { type CollectorServerOptions, collectorHandler } from './collector-server.js';
export { type Cosigner, cosign, cosigner, loadOrCreateCosigner } from './cosign.js';
export { WitnessError, type WitnessErrorCode } from './errors.js';
export { type CosignerKey, formatCosignerKey, parseCosignerKey } from './lib/cosigner-key.js';
export {
  type CollectableLog,
  type CollectResponse,
  cosignedBundle,
  type WitnessRoutesOptions,
  witnessRoutes,
} from './mesh-routes.js';
export { type WitnessMetrics, witnessMetrics } from './metrics.js';
export { type VerifiedAnswer, verifyAnswer } from './verify-answer.js';
export {
  type CosignedCheckpoint,
  type VerifyCosignedOptions,
  verifyCosigned,
} from './verify-cosigned.js';
export {
  type AlarmReason,
  WitnessClient,
  type WitnessClientOptions,
  type WitnessedCheckpoint,
  type WitnessedLog,
  type WitnessStatus,
  type WitnessTarget,
} from './witness-client.js';
export { parseWitnessPolicy, quorumMet, thresholdPolicy, type WitnessPolicy } from './witness-policy.js';
export {
  type KnownLog,
  type WitnessResponse,
  WitnessService,
  type WitnessServiceOptions,
  witnessHandler,
} from './witness-service.js';
