/**
 * The operator's configuration (docs/operator.md §Configuration): a YAML file with everything under `operator:`,
 * validated once at start-up; every error names the full key (`operator.injection.sigil_image`).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { OperatorError } from './errors.js';

const listenForm = 'must be host:port (e.g. 0.0.0.0:8443)';
const hostPort = z.string({ error: listenForm }).regex(/^([^\s:]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/, listenForm);
const dns1123 = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase, digits, -)');
const image = z.string().min(1).regex(/^\S+$/, 'must be an image reference without spaces');

const injection = z
  .strictObject({
    /** Image of the SIGIL sidecar container. */
    sigil_image: image,
    /** Image of the Envoy sidecar container. */
    envoy_image: image,
    /** ConfigMap (in the pod's namespace) holding `sigil.yaml` for the injected sidecar. */
    sigil_config_map: dns1123.default('sigil-sidecar'),
    /** ConfigMap (in the pod's namespace) holding `envoy.yaml` for the injected Envoy. */
    envoy_config_map: dns1123.default('sigil-envoy'),
    /** ConfigMap (in the pod's namespace) holding `ca.pem`, the CA the sidecar pins for the operator's URLs. */
    ca_config_map: dns1123.default('sigil-operator-ca'),
    /** SigilPolicy (in the operator's namespace) a pod gets when it has no `sigil.dev/policy` annotation. */
    default_policy: dns1123.default('default'),
    /** SPIFFE trust domain of the injected sidecars' agent IDs (spiffe://<td>/ns/<ns>/sa/<sa>). */
    trust_domain: z
      .string()
      .regex(/^[a-z0-9._-]{1,255}$/, 'must be a lowercase SPIFFE trust domain name')
      .default('sigil.mesh'),
    /** Port Envoy listens on for inbound traffic. */
    envoy_port: z.number().int().min(1).max(65535).default(15006),
    /** How often injected sidecars poll the operator's bundle, trust and revocation URLs (seconds). */
    poll_interval_s: z.number().int().min(1).max(3600).default(5),
  })
  .strict();

/** Schema of the operator's file. */
export const operatorConfigSchema = z.strictObject({
  operator: z.strictObject({
    /** Namespace whose SigilPolicy, SigilTrust and SigilRevocation objects are served (the operator's own). */
    namespace: dns1123,
    /** HTTPS listener for the webhook and the artifacts. */
    listen: hostPort.default('0.0.0.0:8443'),
    /** Serving certificate and key (PEM) of that listener. */
    tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }),
    /** The listener's URL as the sidecars reach it (e.g. https://sigil-operator.sigil-system.svc:8443). */
    public_url: z
      .url({ protocol: /^https$/, error: 'must be an https:// URL' })
      .transform((u) => u.replace(/\/+$/, '')),
    /** kubeconfig file; absent = in-cluster ServiceAccount, else $KUBECONFIG / ~/.kube/config. */
    kubeconfig: z.string().min(1).optional(),
    /** How often expired revocations are dropped and everything is re-listed (seconds). */
    resync_s: z.number().int().min(1).max(3600).default(60),
    /** Fetching SigilTrust `jwksUri` sources (docs/operator.md §SigilTrust). */
    trust_sources: z
      .strictObject({
        /** How often every jwksUri is fetched again (seconds). */
        refresh_s: z.number().int().min(1).max(86_400).default(60),
        /** Deadline of one fetch: connect, TLS, headers and body (milliseconds). */
        timeout_ms: z.number().int().min(100).max(60_000).default(5000),
        /** Largest JWKS body read; a larger one is a failed fetch. */
        max_bytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(1024 * 1024),
      })
      .prefault({}),
    injection,
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info') })
      .prefault({}),
  }),
});

/** The validated operator configuration. */
export type OperatorConfig = z.output<typeof operatorConfigSchema>['operator'];

/** Validates an already parsed document; throws OPERATOR_CONFIG_INVALID naming the first bad key. */
export function parseOperatorConfig(doc: unknown): OperatorConfig {
  const r = operatorConfigSchema.safeParse(doc ?? {});
  if (r.success) return r.data.operator;
  const issue = r.error.issues[0]!;
  const key = issue.path.join('.') || '(top level)';
  throw new OperatorError('OPERATOR_CONFIG_INVALID', `config ${key}: ${issue.message}`);
}

/** Reads, parses and validates the operator's YAML file, and checks its TLS files are readable. */
export function loadOperatorConfig(file: string): OperatorConfig {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: 100 });
  } catch (e) {
    throw new OperatorError('OPERATOR_CONFIG_INVALID', `config file ${file}: ${(e as Error).message}`, e);
  }
  const config = parseOperatorConfig(doc);
  for (const key of ['cert_file', 'key_file'] as const) {
    try {
      readFileSync(config.tls[key]);
    } catch (e) {
      throw new OperatorError(
        'OPERATOR_CONFIG_INVALID',
        `config operator.tls.${key}: ${(e as Error).message}`,
        e,
      );
    }
  }
  return config;
}
