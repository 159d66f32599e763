/**
 * `sigil serve`'s composition root and its config → options mapping (library modules never read SigilConfig).
 * Imported by the CLI, the demo, tests and benchmarks.
 */

export { type CheckDeps, type ConfiguredCheck, checkFromConfig } from './check-from-config.js';
export { dashboardFromConfig } from './dashboard-options.js';
export { issuerOptions } from './issuer-options.js';
export { holdLedgerWriter, recordLifecycle } from './ledger-writer.js';
export { configHash, type LifecycleRecorder, lifecycleEntry, lifecycleRecorder } from './lifecycle.js';
export { createPolicyDecider, type PolicyDeciderDeps } from './policy-options.js';
export { releaseClosedHttp2Streams } from './release-http2-streams.js';
export { type RunningSigil, type SigilParts, type StartSigilDeps, startSigil } from './start-sigil.js';
export {
  collectStartupGarbage,
  singleThreadedGc,
  startupFlags,
  startupFlagsToAdd,
  tuneRuntime,
} from './tune-runtime.js';
