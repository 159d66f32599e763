/** The issuer module: keys, rotation, revocation, trust for the local verifier, and the issuer endpoint. */

export { type AgentKey, AgentKeyStore } from './agent-key-store.js';
export { IssuerError, type IssuerErrorCode } from './errors.js';
export { createIssuerGrpcServer, issuerGrpcHandlers, issuerProtoPath, loadIssuerProto } from './grpc.js';
export { createIssuerHttpServer, MAX_BODY_BYTES } from './http.js';
export {
  type IssuerKeyInfo,
  IssuerKeyStore,
  type IssuerKeyStoreOptions,
  type IssuerSigner,
  type Jwks,
  type JwksKey,
} from './issuer-key-store.js';
export { publicJwkSchema } from './lib/requests.js';
export {
  type IssuerStores,
  type KeyStores,
  type KeyStoresOptions,
  type OpenStoresOptions,
  openIssuerStores,
  openKeyStores,
  revocationPath,
} from './open-stores.js';
export {
  type RevocationEntry,
  type RevocationList,
  RevocationStore,
  type RevocationStoreOptions,
  type RevokeResult,
  type RevokeTarget,
} from './revocation-store.js';
export {
  type Caller,
  type Identity,
  IssuerService,
  type IssuerServiceDeps,
  LOCAL_OPERATOR,
  operatorCredential,
  type TokenResult,
} from './service.js';
export { type RunningIssuer, type StartIssuerDeps, startIssuer } from './start.js';
export { type LocalTrustDeps, type LocalTrustStore, localTrustStore } from './trust.js';
