/** The issuer module: keys, rotation, revocation, trust for the local verifier, and the issuer endpoint. */

export { IssuerError } from './errors.js';
export { parseRequest, publicJwkSchema } from './lib/requests.js';
export type { IssuerOptions, TrustSource } from './open-stores.js';
export { type IssuerStores, type KeyStores, openIssuerStores, openKeyStores } from './open-stores.js';
export { IssuerService, LOCAL_OPERATOR } from './service.js';
export { type RunningIssuer, startIssuer } from './start.js';
