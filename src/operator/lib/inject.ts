/**
 * Sidecar injection, like Istio's injector: a pod labelled `sigil.dev/inject: "true"` gets the Envoy and SIGIL
 * containers, their volumes and the sidecar's configuration pointing at the operator's policy, trust and
 * revocation URLs, as an RFC 6902 JSON Patch (admission/v1 `patchType: JSONPatch`). Idempotent: a pod that
 * already carries the `sigil.dev/status: injected` annotation or a `sigil` container is left as it is.
 */
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config.js';
import { OperatorError } from '../errors.js';
import { artifactPath, type TrustSpec } from './resources.js';

/** Annotation written on injected pods (and read to stay idempotent). */
export const INJECTED_ANNOTATION = 'sigil.dev/status';
/** Annotation naming the SigilPolicy a pod's sidecar loads (default: `injection.default_policy`). */
export const POLICY_ANNOTATION = 'sigil.dev/policy';
/** Names of the added containers and volumes. */
const NAMES = {
  sigil: 'sigil',
  envoy: 'sigil-envoy',
  config: 'sigil-config',
  envoyConfig: 'sigil-envoy-config',
  ca: 'sigil-operator-ca',
  data: 'sigil-data',
};

/** One RFC 6902 operation. */
export interface PatchOp {
  op: 'add';
  path: string;
  value: unknown;
}

/** A SigilTrust the sidecar lists: its name and binding. */
export interface TrustEntry {
  name: string;
  spec: TrustSpec;
}

/** JSON Pointer escaping (RFC 6901 §3). */
const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** True when the pod already went through injection. */
export function isInjected(pod: V1Pod): boolean {
  return (
    pod.metadata?.annotations?.[INJECTED_ANNOTATION] === 'injected' ||
    (pod.spec?.containers ?? []).some((c) => c.name === NAMES.sigil)
  );
}

/**
 * The patch that injects the sidecars into `pod`, or [] when it is already injected. Throws
 * OPERATOR_INJECTION_REFUSED when a container or volume name the sidecars need is taken.
 */
export function injectionPatch(
  pod: V1Pod,
  config: OperatorConfig,
  trusts: readonly TrustEntry[],
): { patch: PatchOp[]; warnings: string[] } {
  if (isInjected(pod)) return { patch: [], warnings: [] };
  const spec = pod.spec;
  if (spec === undefined) throw new OperatorError('OPERATOR_ADMISSION_INVALID', 'the pod has no spec');
  const inj = config.injection;
  const taken = new Set([...spec.containers, ...(spec.initContainers ?? [])].map((c) => c.name));
  for (const n of [NAMES.sigil, NAMES.envoy])
    if (taken.has(n))
      throw new OperatorError('OPERATOR_INJECTION_REFUSED', `a container is already named ${n}`);
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  for (const n of [NAMES.config, NAMES.envoyConfig, NAMES.ca, NAMES.data])
    if (volumes.has(n))
      throw new OperatorError('OPERATOR_INJECTION_REFUSED', `a volume is already named ${n}`);

  const ns = pod.metadata?.namespace ?? 'default';
  const sa = spec.serviceAccountName ?? 'default';
  const policy = pod.metadata?.annotations?.[POLICY_ANNOTATION] ?? inj.default_policy;
  const caFile = '/etc/sigil/operator-ca/ca.pem';
  const base = config.public_url;
  const trustBundles = trusts.map((t) => ({
    source: `${base}${artifactPath.trust(t.name)}`,
    issuers: t.spec.issuers,
    trust_domains: t.spec.trustDomains,
    revocations: `${base}${artifactPath.revocations()}`,
    ca_file: caFile,
  }));
  const warnings: string[] = [];
  if (trusts.length === 0)
    warnings.push('no SigilTrust exists yet: the sidecar trusts only its own issuer and sees no revocations');
  const env: Record<string, string> = {
    SIGIL_DATA: '/var/lib/sigil',
    SIGIL__POLICY__BUNDLE: `${base}${artifactPath.policy(policy)}`,
    SIGIL__POLICY__CA_FILE: caFile,
    SIGIL__POLICY__POLL_INTERVAL: String(inj.poll_interval_s),
    // Parsed as YAML by sigil's config loader; JSON is YAML.
    SIGIL__VALIDATOR__TRUST_BUNDLES: JSON.stringify(trustBundles),
    SIGIL__VALIDATOR__REFRESH_INTERVAL: String(inj.poll_interval_s),
    // SPIFFE ID in Istio's form (spiffe://<td>/ns/<ns>/sa/<sa>): the identity the pod's ServiceAccount names.
    SIGIL__AGENT__SPIFFE_ID: `spiffe://${inj.trust_domain}/ns/${ns}/sa/${sa}`,
  };
  const hardened = {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
  const sigil: V1Container = {
    name: NAMES.sigil,
    image: inj.sigil_image,
    args: ['--config', '/etc/sigil/sigil.yaml', 'serve'],
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    ports: [
      { name: 'sigil-authz', containerPort: 9191 },
      { name: 'sigil-admin', containerPort: 9190 },
    ],
    readinessProbe: { httpGet: { path: '/ready', port: 'sigil-admin' }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'sigil-admin' }, periodSeconds: 10 },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    securityContext: hardened,
    volumeMounts: [
      { name: NAMES.config, mountPath: '/etc/sigil', readOnly: true },
      { name: NAMES.ca, mountPath: '/etc/sigil/operator-ca', readOnly: true },
      { name: NAMES.data, mountPath: '/var/lib/sigil' },
    ],
  };
  const envoy: V1Container = {
    name: NAMES.envoy,
    image: inj.envoy_image,
    args: ['-c', '/etc/envoy/envoy.yaml', '--log-level', 'warn'],
    ports: [{ name: 'sigil-inbound', containerPort: inj.envoy_port }],
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    securityContext: hardened,
    volumeMounts: [{ name: NAMES.envoyConfig, mountPath: '/etc/envoy', readOnly: true }],
  };
  const vols: V1Volume[] = [
    { name: NAMES.config, configMap: { name: inj.sigil_config_map } },
    { name: NAMES.envoyConfig, configMap: { name: inj.envoy_config_map } },
    { name: NAMES.ca, configMap: { name: inj.ca_config_map } },
    { name: NAMES.data, emptyDir: {} },
  ];
  const patch: PatchOp[] = [
    { op: 'add', path: '/spec/containers/-', value: envoy },
    { op: 'add', path: '/spec/containers/-', value: sigil },
  ];
  if (spec.volumes === undefined) patch.push({ op: 'add', path: '/spec/volumes', value: vols });
  else for (const v of vols) patch.push({ op: 'add', path: '/spec/volumes/-', value: v });
  if (pod.metadata?.annotations === undefined)
    patch.push({ op: 'add', path: '/metadata/annotations', value: { [INJECTED_ANNOTATION]: 'injected' } });
  else
    patch.push({
      op: 'add',
      path: `/metadata/annotations/${pointer(INJECTED_ANNOTATION)}`,
      value: 'injected',
    });
  return { patch, warnings };
}
