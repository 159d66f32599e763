/**
 * deploy/ against a real kube-apiserver + etcd (test/k8s/support/cluster.ts): the CRDs' server-side validation
 * (OpenAPI + CEL), the operator's RBAC (SubjectAccessReview as its ServiceAccount), sidecar injection through the
 * real admission chain (the apiserver calls the operator's webhook; the stored pod has the sidecars), and every
 * manifest under deploy/ accepted by the server.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseOperatorConfig, type RunningOperator, startOperator } from '../../src/operator/index.js';
import { freePorts } from '../support/ports.js';
import { type Cluster, startCluster } from './support/cluster.js';
import {
  apply,
  applyFiles,
  CR,
  create,
  createCr as createKind,
  DEPLOY,
  installCrds,
  kubeConfigFor,
  NS,
  ROOT,
  readManifests,
  refusal,
  rel,
  serviceAccountToken,
  yamlFiles,
} from './support/kube.js';

const KEY_X = 'l0Xh1rLhxqQYHjE6M0cUh1X4yD9S8PqKMQvwvhoX9Ec'; // 43 base64url chars (32 bytes)
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'; // shape only: the CRD checks the PEM header

let cluster: Cluster;
let admin: KubeConfig;
let custom: CustomObjectsApi;

beforeAll(async () => {
  cluster = await startCluster();
  admin = cluster.admin();
  custom = admin.makeApiClient(CustomObjectsApi);
  await installCrds(admin);
  await applyFiles(admin, [join(DEPLOY, 'operator/namespace.yaml'), join(DEPLOY, 'operator/rbac.yaml')]);
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
});

const createCr = (plural: string, name: string, spec: unknown) => createKind(custom, plural, name, spec);
const trustSpec = (over: Record<string, unknown> = {}) => ({
  trustDomains: ['mesh.example'],
  issuers: ['spiffe://mesh.example/sigil/issuer'],
  jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: KEY_X, kid: 'k1' }] },
  ...over,
});

describe('CRD validation (server-side)', () => {
  it('accepts well-formed objects of each kind and defaults the policy entrypoint', async () => {
    const p = (await createCr('sigilpolicies', 'ok', { rego: 'package envoy.authz\n' })) as {
      spec: { entrypoint: string };
    };
    expect(p.spec.entrypoint).toBe('envoy/authz/allow');
    await createCr('sigilpolicies', 'ok-en', { english: 'any agent may call fs.read.' });
    await createCr('sigiltrusts', 'ok', trustSpec());
    await createCr('sigilrevocations', 'ok', {
      taskId: 't-1',
      reason: 'leaked',
      expires: '2030-01-01T00:00:00Z',
    });
  });

  it.each([
    [
      'sigilpolicies',
      { rego: 'package x', english: 'any agent may call a.' },
      'set exactly one of spec.rego and spec.english',
    ],
    ['sigilpolicies', {}, 'set exactly one of spec.rego and spec.english'],
    ['sigilpolicies', { rego: 'package x', entrypoint: '../etc' }, 'spec.entrypoint'],
    ['sigiltrusts', trustSpec({ issuers: [] }), 'spec.issuers'],
    ['sigiltrusts', trustSpec({ issuers: ['https://not-spiffe'] }), 'spec.issuers[0]'],
    ['sigiltrusts', trustSpec({ trustDomains: ['Upper.Case'] }), 'spec.trustDomains[0]'],
    [
      'sigiltrusts',
      trustSpec({ jwks: { keys: [{ kty: 'RSA', crv: 'Ed25519', x: KEY_X, kid: 'a' }] } }),
      'kty',
    ],
    [
      'sigiltrusts',
      trustSpec({ jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'short', kid: 'a' }] } }),
      '.x',
    ],
    [
      'sigiltrusts',
      trustSpec({
        jwks: {
          keys: [
            { kty: 'OKP', crv: 'Ed25519', x: KEY_X, kid: 'same' },
            { kty: 'OKP', crv: 'Ed25519', x: KEY_X, kid: 'same' },
          ],
        },
      }),
      'every key needs its own kid',
    ],
    ['sigiltrusts', trustSpec({ jwks: { keys: [] } }), 'spec.jwks.keys'],
    [
      'sigiltrusts',
      trustSpec({ jwksUri: 'https://issuer.example/jwks.json' }),
      'set exactly one of spec.jwks and spec.jwksUri',
    ],
    ['sigiltrusts', trustSpec({ jwks: undefined }), 'set exactly one of spec.jwks and spec.jwksUri'],
    [
      'sigiltrusts',
      trustSpec({ jwks: undefined, jwksUri: 'http://issuer.example/jwks.json' }),
      'spec.jwksUri',
    ],
    ['sigiltrusts', trustSpec({ jwks: undefined, jwksUri: 'file:///etc/passwd' }), 'spec.jwksUri'],
    [
      'sigiltrusts',
      trustSpec({ jwks: undefined, jwksUri: 'https://' }),
      'spec.jwksUri must be an https:// URL with a host',
    ],
    ['sigiltrusts', trustSpec({ caBundle: CA_PEM }), 'spec.caBundle only applies to spec.jwksUri'],
    [
      'sigiltrusts',
      trustSpec({ jwks: undefined, jwksUri: 'https://issuer.example/jwks.json', caBundle: 'not a pem' }),
      'spec.caBundle',
    ],
    [
      'sigilrevocations',
      { taskId: 'a', jti: 'b', reason: 'r' },
      'set exactly one of spec.taskId and spec.jti',
    ],
    ['sigilrevocations', { taskId: 'a' }, 'spec.reason'],
    ['sigilrevocations', { taskId: 'a', reason: 'r', expires: 'tomorrow' }, 'spec.expires'],
  ])('%s refuses %j (422, naming %s)', async (plural, spec, words) => {
    const r = await refusal(createCr(plural, `bad-${Math.random().toString(36).slice(2, 8)}`, spec));
    expect(r.status).toBe(422);
    expect(r.message).toContain(words);
  });

  it('a revocation is immutable: changing its spec is refused by the CEL rule', async () => {
    const r = await refusal(
      custom.patchNamespacedCustomObject({
        ...CR,
        plural: 'sigilrevocations',
        name: 'ok',
        body: [{ op: 'replace', path: '/spec/taskId', value: 't-2' }],
      }),
    );
    expect(r.status).toBe(422);
    expect(r.message).toContain('a revocation is immutable');
  });
});

describe("the operator's RBAC (deploy/operator/rbac.yaml), as its ServiceAccount", () => {
  const user = `system:serviceaccount:${NS}:sigil-operator`;
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'];
  const can = async (attrs: Record<string, string | undefined>) => {
    const r = await admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
      body: { spec: { user, groups, resourceAttributes: attrs } },
    });
    return r.status?.allowed === true;
  };
  it.each([
    { verb: 'list', group: 'sigil.dev', resource: 'sigilpolicies', namespace: NS },
    { verb: 'watch', group: 'sigil.dev', resource: 'sigiltrusts', namespace: NS },
    { verb: 'get', group: 'sigil.dev', resource: 'sigilrevocations', namespace: NS },
    { verb: 'patch', group: 'sigil.dev', resource: 'sigilpolicies', subresource: 'status', namespace: NS },
    {
      verb: 'update',
      group: 'sigil.dev',
      resource: 'sigilrevocations',
      subresource: 'status',
      namespace: NS,
    },
  ])('may %j', async (attrs) => {
    expect(await can(attrs)).toBe(true);
  });
  it.each([
    { verb: 'get', group: '', resource: 'secrets', namespace: NS },
    { verb: 'list', group: '', resource: 'secrets' },
    { verb: 'list', group: '', resource: 'pods' },
    { verb: 'create', group: '', resource: 'pods', namespace: 'default' },
    { verb: 'update', group: 'sigil.dev', resource: 'sigilpolicies', namespace: NS },
    { verb: 'patch', group: 'sigil.dev', resource: 'sigiltrusts', namespace: NS },
    { verb: 'create', group: 'sigil.dev', resource: 'sigilrevocations', namespace: NS },
    { verb: 'delete', group: 'sigil.dev', resource: 'sigilrevocations', namespace: NS },
    { verb: 'list', group: 'sigil.dev', resource: 'sigilpolicies', namespace: 'default' },
    { verb: 'list', group: 'sigil.dev', resource: 'sigilpolicies' },
    { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations' },
    { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: NS },
  ])('may not %j', async (attrs) => {
    expect(await can(attrs)).toBe(false);
  });
  it('the real token of that ServiceAccount is refused secrets by the API server itself', async () => {
    const token = await serviceAccountToken(admin, NS, 'sigil-operator');
    const { kc } = kubeConfigFor(cluster.server, cluster.caPem, token);
    const r = await refusal(kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: NS }));
    expect(r.status).toBe(403);
    // …and granted what the Role names.
    const list = (await kc
      .makeApiClient(CustomObjectsApi)
      .listNamespacedCustomObject({ ...CR, plural: 'sigilpolicies' })) as { items: unknown[] };
    expect(list.items.length).toBeGreaterThan(0);
  });
});

describe('sidecar injection through the real admission chain', () => {
  let op: RunningOperator;
  const APP = 'apps';
  const pods = () => admin.makeApiClient(CoreV1Api);
  const pod = (name: string, labels: Record<string, string>, extra: Partial<V1Pod['spec']> = {}): V1Pod => ({
    metadata: { name, labels },
    spec: { containers: [{ name: 'app', image: 'example/app:1' }], ...extra },
  });

  beforeAll(async () => {
    const [port] = (await freePorts(1)) as [number];
    const cert = cluster.issueServingCert('operator');
    const token = await serviceAccountToken(admin, NS, 'sigil-operator');
    const config = parseOperatorConfig({
      operator: {
        namespace: NS,
        listen: `127.0.0.1:${port}`,
        tls: { cert_file: cert.cert, key_file: cert.key },
        public_url: `https://127.0.0.1:${port}`,
        injection: { sigil_image: 'localhost/sigil:test', envoy_image: 'envoyproxy/envoy:v1.40.0' },
        log: { level: 'warn' },
      },
    });
    op = await startOperator(config, { kubeConfig: kubeConfigFor(cluster.server, cluster.caPem, token).kc });
    await op.synced;
    // deploy/operator/webhook.yaml as shipped, with the in-cluster Service swapped for this loopback URL.
    const [mwc] = readManifests(join(DEPLOY, 'operator/webhook.yaml')) as Array<
      KubernetesObject & { webhooks: Array<{ clientConfig: unknown }> }
    >;
    mwc!.metadata = { ...mwc!.metadata, name: 'sigil-sidecar-injector-loopback' };
    mwc!.webhooks[0]!.clientConfig = {
      url: `https://127.0.0.1:${port}/mutate`,
      caBundle: Buffer.from(cluster.caPem).toString('base64'),
    };
    await create(admin, mwc!);
    await create(admin, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP } });
    // No controller-manager here: the ServiceAccount admission plugin needs the `default` account to exist.
    await create(admin, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: APP },
    });
    // The webhook configuration takes effect asynchronously: wait until a labelled pod comes back injected.
    const deadline = Date.now() + 20_000;
    for (let i = 0; ; i++) {
      const p = await pods().createNamespacedPod({
        namespace: APP,
        body: pod(`warmup-${i}`, { 'sigil.dev/inject': 'true' }),
        dryRun: 'All',
      });
      if (p.spec?.containers.some((c) => c.name === 'sigil')) break;
      if (Date.now() > deadline) throw new Error('the webhook never took effect');
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });

  it('a labelled pod is stored with the Envoy and SIGIL containers, volumes, env and the annotation', async () => {
    await pods().createNamespacedPod({
      namespace: APP,
      body: pod('agent-1', { 'sigil.dev/inject': 'true' }),
    });
    const got = await pods().readNamespacedPod({ namespace: APP, name: 'agent-1' });
    expect(got.spec!.containers.map((c) => c.name)).toEqual(['app', 'sigil-envoy', 'sigil']);
    expect(got.metadata!.annotations!['sigil.dev/status']).toBe('injected');
    const sigil = got.spec!.containers.find((c) => c.name === 'sigil')!;
    const env = Object.fromEntries((sigil.env ?? []).map((e) => [e.name, e.value]));
    expect(env.SIGIL__POLICY__BUNDLE).toBe(`${op.url}/v1/policies/default/bundle.tar.gz`);
    expect(env.SIGIL__AGENT__SPIFFE_ID).toBe(`spiffe://sigil.mesh/ns/${APP}/sa/default`);
    // The SigilTrust "ok" made above is listed with its binding, the revocation list and the pinned CA.
    expect(JSON.parse(env.SIGIL__VALIDATOR__TRUST_BUNDLES!)).toEqual([
      {
        source: `${op.url}/v1/trust/ok/jwks.json`,
        issuers: ['spiffe://mesh.example/sigil/issuer'],
        trust_domains: ['mesh.example'],
        revocations: `${op.url}/v1/revocations.json`,
        ca_file: '/etc/sigil/operator-ca/ca.pem',
      },
    ]);
    expect(sigil.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(got.spec!.volumes!.map((v) => v.name)).toEqual(
      expect.arrayContaining(['sigil-config', 'sigil-envoy-config', 'sigil-operator-ca', 'sigil-data']),
    );
  });

  it('the sigil.dev/policy annotation picks the SigilPolicy', async () => {
    const p = pod('agent-2', { 'sigil.dev/inject': 'true' });
    p.metadata!.annotations = { 'sigil.dev/policy': 'ok-en' };
    const got = await pods().createNamespacedPod({ namespace: APP, body: p });
    const env = got.spec!.containers.find((c) => c.name === 'sigil')!.env!;
    expect(env.find((e) => e.name === 'SIGIL__POLICY__BUNDLE')?.value).toBe(
      `${op.url}/v1/policies/ok-en/bundle.tar.gz`,
    );
    expect(got.metadata!.annotations!['sigil.dev/policy']).toBe('ok-en');
  });

  it('an unlabelled pod is not sent to the webhook and keeps its one container', async () => {
    const got = await pods().createNamespacedPod({ namespace: APP, body: pod('plain', {}) });
    expect(got.spec!.containers.map((c) => c.name)).toEqual(['app']);
  });

  it('an already injected pod is left as it is (idempotent)', async () => {
    const p = pod('again', { 'sigil.dev/inject': 'true' });
    p.metadata!.annotations = { 'sigil.dev/status': 'injected' };
    const got = await pods().createNamespacedPod({ namespace: APP, body: p });
    expect(got.spec!.containers.map((c) => c.name)).toEqual(['app']);
  });

  it('a pod whose container name collides with a sidecar is refused with OPERATOR_INJECTION_REFUSED', async () => {
    const p = pod(
      'clash',
      { 'sigil.dev/inject': 'true' },
      {
        containers: [
          { name: 'app', image: 'example/app:1' },
          { name: 'sigil-envoy', image: 'example/other:1' },
        ],
      },
    );
    const r = await refusal(pods().createNamespacedPod({ namespace: APP, body: p }));
    expect(r.status).toBe(422);
    expect(r.message).toContain('OPERATOR_INJECTION_REFUSED');
  });

  it('with the webhook down, a labelled pod is refused (failurePolicy: Fail) and an unlabelled one is not', async () => {
    await op.close();
    const r = await refusal(
      pods().createNamespacedPod({ namespace: APP, body: pod('no-webhook', { 'sigil.dev/inject': 'true' }) }),
    );
    expect(r.status).toBe(500);
    expect(r.message).toContain('inject.sigil.dev');
    const plain = await pods().createNamespacedPod({ namespace: APP, body: pod('plain-2', {}) });
    expect(plain.spec!.containers).toHaveLength(1);
  });
});

describe('every manifest under deploy/ is accepted by the API server', () => {
  // Kustomize's own files are build instructions, not API objects; patch files listed by a kustomization are
  // fragments. Istio's kinds need Istio's CRDs, which this control plane does not have: their documents are
  // checked for apiVersion, kind and name only.
  const external = /(^|\.)istio\.io\//;
  const files = yamlFiles(DEPLOY);
  const patches = new Set<string>();
  for (const f of files.filter((f) => /kustomization\.ya?ml$/.test(f))) {
    const [k] = readManifests(f) as Array<Record<string, unknown>>;
    const dir = join(f, '..');
    for (const p of [
      ...((k?.patches as Array<{ path?: string }>) ?? []).map((p) => p.path),
      ...((k?.patchesStrategicMerge as string[]) ?? []),
      ...((k?.patchesJson6902 as Array<{ path?: string }>) ?? []).map((p) => p.path),
    ])
      if (typeof p === 'string') patches.add(join(dir, p));
  }
  const objects = files
    .filter((f) => !/kustomization\.ya?ml$/.test(f) && !patches.has(f))
    .flatMap((f) => readManifests(f).map((o) => ({ file: rel(f), o })));

  it('finds the manifests (CRDs, the operator and whatever else deploy/ holds)', () => {
    expect(objects.length).toBeGreaterThanOrEqual(12);
    for (const { file, o } of objects) {
      expect(o.apiVersion, file).toBeTruthy();
      expect(o.kind, file).toBeTruthy();
      expect(o.metadata?.name, file).toBeTruthy();
    }
  });

  it('namespaces and CRDs are applied, everything else passes a server-side dry-run apply', async () => {
    const first = (o: KubernetesObject) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition';
    const failures: string[] = [];
    for (const { file, o } of [...objects.filter((x) => first(x.o)), ...objects.filter((x) => !first(x.o))]) {
      if (external.test(o.apiVersion ?? '')) continue;
      try {
        await apply(admin, o, !first(o));
      } catch (e) {
        const r = await refusal(Promise.reject(e)).catch(() => ({ status: 0, message: String(e) }));
        failures.push(`${file} ${o.kind}/${o.metadata?.name}: ${r.status} ${r.message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  // What `kubectl apply -k` sends: the rendered overlays (production's StatefulSet with its claim template and
  // retention policy is only ever seen rendered), namespaces applied and the rest dry-run.
  it.each(['overlays/dev', 'overlays/production'])(
    'the rendered deploy/%s is accepted by the API server',
    async (dir) => {
      const out = execFileSync(join(ROOT, '.tools/bin/kustomize'), ['build', join(DEPLOY, dir)], {
        encoding: 'utf8',
      });
      const rendered = parseAllDocuments(out).map((d) => d.toJS() as KubernetesObject);
      expect(rendered.map((o) => o.kind)).toContain(
        dir.endsWith('production') ? 'StatefulSet' : 'Deployment',
      );
      for (const o of rendered.filter((x) => x.kind === 'Namespace')) await apply(admin, o);
      const stored = [];
      for (const o of rendered.filter((x) => x.kind !== 'Namespace'))
        stored.push(await apply(admin, o, true));
      expect(stored.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(
        rendered.filter((x) => x.kind !== 'Namespace').map((o) => `${o.kind}/${o.metadata?.name}`),
      );
    },
    60_000,
  );
});
