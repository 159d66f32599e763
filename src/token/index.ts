/**
 * The TBIT token module: Task-Bound Identity Tokens and delegation chains (docs/tbit.md, docs/chains.md).
 * One public operation per file; internals in lib/.
 */

export { agentSpiffeId } from './agent-id.js';
export type * from './api.js';
export { type ClaimedIdentity, claimedIdentity } from './claimed-identity.js';
export { type CreateProofOptions, createProof } from './create-proof.js';
export { decodeChain } from './decode.js';
export { delegate } from './delegate.js';
export { TBIT_ERROR_CODES, TbitError, type TbitErrorCode } from './errors.js';
export { isSpiffeId } from './is-spiffe-id.js';
export { PROOF_HEADER, WPT_TYP } from './lib/proof.js';
export { isScopePattern, isToolName } from './lib/scope.js';
export { mintRoot } from './mint.js';
export { MirrorTrustStore, type MirrorTrustStoreOptions } from './mirror-trust-store.js';
export { publicJwkOf } from './public-jwk.js';
export { scopeAllows } from './scope-allows.js';
export { scopeCovers } from './scope-covers.js';
export { parseSpiffeId } from './spiffe-id.js';
export { jwkThumbprint } from './thumbprint.js';
export { loadTrustBundle, type TrustBundle } from './trust-bundle.js';
export { parseTrustSnapshot, snapshotTrust, TRUST_SNAPSHOT_FORMAT } from './trust-snapshot.js';
export { createTrustStore, type MutableTrustStore } from './trust-store.js';
export { verifyChain } from './verify.js';
export {
  type ProofRequest,
  type VerifiedProof,
  type VerifyProofOptions,
  verifyProof,
} from './verify-proof.js';
