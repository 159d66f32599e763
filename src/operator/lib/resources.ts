/** The sigil.dev/v1alpha1 custom resources (deploy/crds/) as the operator reads them. */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Condition } from './conditions.js';

/** API group and version of every SIGIL custom resource. */
export const GROUP = 'sigil.dev';
export const VERSION = 'v1alpha1';

/** Common status members. */
export interface SigilStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  [k: string]: unknown;
}

/** A custom resource with its spec and status. */
export interface SigilObject<S> extends KubernetesObject {
  spec: S;
  status?: SigilStatus;
}

/** SigilPolicy spec: exactly one of rego and english. */
export interface PolicySpec {
  rego?: string;
  english?: string;
  entrypoint?: string;
}

/** One public key of a SigilTrust (RFC 8037 §2 OKP). */
export interface TrustKey {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg?: string;
  use?: string;
}

/** SigilTrust spec: exactly one of jwks (inline keys) and jwksUri (fetched; caBundle pins its TLS CA). */
export interface TrustSpec {
  trustDomains: string[];
  issuers: string[];
  jwks?: { keys: TrustKey[] };
  jwksUri?: string;
  caBundle?: string;
}

/** SigilRevocation spec: exactly one of taskId and jti. */
export interface RevocationSpec {
  taskId?: string;
  jti?: string;
  reason: string;
  expires?: string;
}

/** The plural (URL) name of each kind. */
export const PLURAL = {
  SigilPolicy: 'sigilpolicies',
  SigilTrust: 'sigiltrusts',
  SigilRevocation: 'sigilrevocations',
} as const;

/** Where each artifact is served on the operator's listener (docs/operator.md §Served documents). */
export const artifactPath = {
  policy: (name: string) => `/v1/policies/${name}/bundle.tar.gz`,
  trust: (name: string) => `/v1/trust/${name}/jwks.json`,
  revocations: () => '/v1/revocations.json',
};
