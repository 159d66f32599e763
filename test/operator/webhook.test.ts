/**
 * The operator's pieces that need no API server: config validation naming the key, the AdmissionReview contract
 * (admission.k8s.io/v1: same uid, base64 JSON Patch, idempotent) and ETag answers. The same paths run against a
 * real kube-apiserver in test/k8s/.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { OperatorError, parseOperatorConfig } from '../../src/operator/index.js';
import { admit } from '../../src/operator/lib/webhook.js';

const config = parseOperatorConfig({
  operator: {
    namespace: 'sigil-system',
    tls: { cert_file: '/c', key_file: '/k' },
    public_url: 'https://op.sigil-system.svc:443/',
    injection: { sigil_image: 'sigil:1', envoy_image: 'envoy:1' },
  },
});
const review = (object: unknown, operation = 'CREATE', kind = 'Pod') => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u-1', kind: { kind }, operation, namespace: 'apps', object },
});
const pod = (extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'p', ...extra },
  spec: { containers: [{ name: 'app', image: 'app:1' }] },
});
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OperatorError);
    return [(e as OperatorError).code, (e as Error).message];
  }
  throw new Error('expected an OperatorError');
};

describe('operator config', () => {
  it('defaults and trims the public URL', () => {
    expect(config.public_url).toBe('https://op.sigil-system.svc:443');
    expect(config.listen).toBe('0.0.0.0:8443');
    expect(config.injection.poll_interval_s).toBe(5);
    expect(config.trust_sources).toEqual({ refresh_s: 60, timeout_ms: 5000, max_bytes: 1024 * 1024 });
  });
  it("deploy/operator's ConfigMap holds a valid configuration", () => {
    const cm = parseYaml(readFileSync('deploy/operator/configmap.yaml', 'utf8')) as {
      data: { 'operator.yaml': string };
    };
    const c = parseOperatorConfig(parseYaml(cm.data['operator.yaml']));
    expect(c.namespace).toBe('sigil-system');
    expect(c.trust_sources.refresh_s).toBe(60);
  });
  it.each([
    [{ public_url: 'http://op' }, 'config operator.public_url:'],
    [{ namespace: 'Sigil_System' }, 'config operator.namespace:'],
    [{ listen: '8443' }, 'config operator.listen:'],
    [{ injection: { sigil_image: 'a b', envoy_image: 'e' } }, 'config operator.injection.sigil_image:'],
    [{ surprise: 1 }, 'config operator:'],
    [{ trust_sources: { refresh_s: 0 } }, 'config operator.trust_sources.refresh_s:'],
    [{ trust_sources: { timeout_ms: 'soon' } }, 'config operator.trust_sources.timeout_ms:'],
    [{ trust_sources: { max_bytes: 10 } }, 'config operator.trust_sources.max_bytes:'],
    [{ trust_sources: { refresh: 5 } }, 'config operator.trust_sources:'],
  ])('%j is OPERATOR_CONFIG_INVALID naming the key', (over, key) => {
    const base = {
      namespace: 'sigil-system',
      tls: { cert_file: '/c', key_file: '/k' },
      public_url: 'https://op',
      injection: { sigil_image: 's', envoy_image: 'e' },
    };
    const [code, message] = codeOf(() => parseOperatorConfig({ operator: { ...base, ...over } }));
    expect(code).toBe('OPERATOR_CONFIG_INVALID');
    expect(message).toContain(key);
  });
});

describe('admission review', () => {
  it('answers with the same uid and a base64 JSON Patch that adds both containers and the annotation', () => {
    const r = admit(review(pod()), config, []).response;
    expect(r.uid).toBe('u-1');
    expect(r.allowed).toBe(true);
    expect(r.patchType).toBe('JSONPatch');
    const ops = JSON.parse(Buffer.from(r.patch!, 'base64').toString()) as Array<{
      op: string;
      path: string;
      value: { name?: string };
    }>;
    expect(ops.filter((o) => o.path === '/spec/containers/-').map((o) => o.value.name)).toEqual([
      'sigil-envoy',
      'sigil',
    ]);
    expect(ops.find((o) => o.path === '/metadata/annotations')?.value).toEqual({
      'sigil.dev/status': 'injected',
    });
    expect(r.warnings?.[0]).toContain('no SigilTrust');
  });
  it('escapes the annotation key as a JSON Pointer when the pod has annotations (RFC 6901)', () => {
    const r = admit(review(pod({ annotations: { a: 'b' } })), config, []).response;
    const ops = JSON.parse(Buffer.from(r.patch!, 'base64').toString()) as Array<{ path: string }>;
    expect(ops.map((o) => o.path)).toContain('/metadata/annotations/sigil.dev~1status');
  });
  it('leaves injected pods, other kinds and other operations unpatched', () => {
    expect(
      admit(review(pod({ annotations: { 'sigil.dev/status': 'injected' } })), config, []).response.patch,
    ).toBeUndefined();
    expect(admit(review(pod(), 'UPDATE'), config, []).response).toEqual({ uid: 'u-1', allowed: true });
    expect(admit(review({}, 'CREATE', 'Service'), config, []).response).toEqual({
      uid: 'u-1',
      allowed: true,
    });
  });
  it.each([
    [{ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }],
    [null],
    [review('not a pod')],
  ])('refuses %j with OPERATOR_ADMISSION_INVALID', (doc) => {
    expect(codeOf(() => admit(doc, config, []))[0]).toBe('OPERATOR_ADMISSION_INVALID');
  });
});
