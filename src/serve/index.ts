/** `sigil serve`'s composition root. Nothing but the CLI and tests import this module. */
export { type CheckDeps, type ConfiguredCheck, checkFromConfig } from './check-from-config.js';
export { ledgerSink } from './ledger-sink.js';
export {
  type AdminHandlers,
  type RunningSigil,
  type SigilParts,
  type StartSigilDeps,
  startSigil,
} from './start-sigil.js';
export { tuneRuntime } from './tune-runtime.js';
