/**
 * deploy/: every YAML file parses, every kustomization's resources exist, and the real kustomize renders
 * deploy/overlays/{dev,production} and deploy/istio. The rendered objects are then checked for what
 * docs/kubernetes.md promises: SIGIL's config passes SIGIL's own schema with the values the Deployment gives
 * it, Envoy's config is envoy/sidecar.yaml with the listener on the pod IP and passes the real Envoy's
 * `--mode validate`, the sidecar runs locked down with probes on the real admin endpoints, the
 * NetworkPolicy opens Envoy's port only, and the Istio variant's provider, ServiceEntry and policy agree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig, type SigilConfig } from '../../src/config/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');
const KUSTOMIZE = join(ROOT, '.tools/bin/kustomize');
const ENVOY = join(ROOT, '.tools/bin/envoy');

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are checked field by field.
type Obj = any;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(n) ? [p] : [];
  });
}

function build(dir: string): Obj[] {
  const out = execFileSync(KUSTOMIZE, ['build', join(DEPLOY, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS());
}

const find = (objs: Obj[], kind: string, name?: string): Obj[] =>
  objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = (objs: Obj[], kind: string, name?: string): Obj => {
  const found = find(objs, kind, name);
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0];
};
/** The agent workload: the base's Deployment, or production's StatefulSet (one of them, not both). */
const agentPods = (objs: Obj[]): Obj => {
  const found = objs.filter(
    (o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === 'sigil-agent',
  );
  expect(found.map((o) => o.kind)).toHaveLength(1);
  return found[0];
};
const container = (dep: Obj, name: string): Obj | undefined =>
  dep.spec.template.spec.containers.find((c: Obj) => c.name === name);

/** SIGIL's config as the sidecar container sees it: the mounted sigil.yaml plus its SIGIL__* environment. */
function sidecarConfig(objs: Obj[], dir: string): { config: SigilConfig; dataMount: Obj } {
  const dep = agentPods(objs);
  const sigil = container(dep, 'sigil');
  const args: string[] = sigil.args;
  const file = args[args.indexOf('--config') + 1]!;
  const mount = sigil.volumeMounts.find((m: Obj) => file.startsWith(`${m.mountPath}/`));
  expect(mount, 'the --config file is on a mounted volume').toBeDefined();
  const vol = dep.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
  const cm = one(objs, 'ConfigMap', vol.configMap.name);
  const key = file.slice(mount.mountPath.length + 1);
  expect(Object.keys(cm.data)).toContain(key);
  const tmp = mkdtempSync(join(tmpdir(), 'sigil-deploy-'));
  try {
    const path = join(tmp, `${dir.replaceAll('/', '-')}.yaml`);
    writeFileSync(path, cm.data[key]);
    // Kubernetes expands $(VAR) from earlier env entries; Secret refs are read at start-up (a placeholder here).
    const env: Record<string, string> = {};
    for (const e of sigil.env ?? []) {
      if (e.value !== undefined)
        env[e.name] = e.value.replace(/\$\((\w+)\)/g, (_: string, v: string) => env[v] ?? '');
      else if (e.valueFrom?.fieldRef) env[e.name] = 'sigil-agent-7c9d-x2k4p';
      else if (e.valueFrom?.secretKeyRef) env[e.name] = 'a-secret-of-at-least-sixteen-chars';
    }
    const config = loadConfig({ file: path, env });
    const dataMount = sigil.volumeMounts.find((m: Obj) => m.mountPath === config.data_dir);
    expect(dataMount, 'data_dir is a mounted volume').toBeDefined();
    return { config, dataMount };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const port = (listen: string) => Number(listen.slice(listen.lastIndexOf(':') + 1));
const host = (listen: string) => listen.slice(0, listen.lastIndexOf(':'));

let dev: Obj[];
let production: Obj[];
let istio: Obj[];
let work: string;

beforeAll(() => {
  execFileSync('bash', [join(ROOT, 'scripts/setup-deploy-tools.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  dev = build('overlays/dev');
  production = build('overlays/production');
  istio = build('istio');
  work = mkdtempSync(join(tmpdir(), 'sigil-deploy-envoy-'));
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('deploy/ files', () => {
  it('every YAML file parses; every kustomization lists resources that exist', () => {
    const files = yamlFiles(DEPLOY);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      for (const d of parseAllDocuments(readFileSync(f, 'utf8')))
        expect(d.errors.map(String), relative(ROOT, f)).toEqual([]);
    }
    const kustomizations = files.filter((f) => f.endsWith('/kustomization.yaml'));
    expect(kustomizations.map((f) => relative(DEPLOY, f))).toEqual(
      expect.arrayContaining([
        'base/kustomization.yaml',
        'overlays/dev/kustomization.yaml',
        'overlays/production/kustomization.yaml',
        'istio/kustomization.yaml',
      ]),
    );
    for (const k of kustomizations) {
      const doc = parse(readFileSync(k, 'utf8'));
      for (const r of doc.resources ?? []) {
        const p = join(dirname(k), r);
        const ok = existsSync(p) && (statSync(p).isFile() || existsSync(join(p, 'kustomization.yaml')));
        expect(ok, `${relative(ROOT, k)}: ${r}`).toBe(true);
      }
    }
  });
});

describe.each([
  ['overlays/dev', () => dev],
  ['overlays/production', () => production],
])('kustomize build deploy/%s', (dir, objs) => {
  it("SIGIL's config passes SIGIL's schema as the pod sees it; listeners where the pod needs them", () => {
    const { config, dataMount } = sidecarConfig(objs(), dir);
    const dep = agentPods(objs());
    const sigil = container(dep, 'sigil');
    expect(config.agent.spiffe_id).toBe('spiffe://sigil.mesh/agent/example/sigil-agent-7c9d-x2k4p');
    // The data dir is a pod volume (the root filesystem is read-only): an emptyDir, or a claim template's.
    const vol = dep.spec.template.spec.volumes.find((v: Obj) => v.name === dataMount.name);
    const claim = (dep.spec.volumeClaimTemplates ?? []).find((c: Obj) => c.metadata.name === dataMount.name);
    expect(vol === undefined ? claim : vol.emptyDir).toBeDefined();
    // Check and issuer ports on loopback: only the pod's own containers reach them.
    for (const l of [config.authz.listen, config.issuer.listen_http, config.issuer.listen_grpc])
      expect(host(l)).toBe('127.0.0.1');
    // The admin port is the one the probes use.
    const admin = sigil.ports.find((p: Obj) => p.name === 'admin');
    expect(admin.containerPort).toBe(port(config.admin.listen));
  });

  it('the sidecar runs non-root on a read-only root, no capabilities, no service account token', () => {
    const dep = agentPods(objs());
    const pod = dep.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(one(objs(), 'ServiceAccount', pod.serviceAccountName).automountServiceAccountToken).toBe(false);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    for (const c of pod.containers) {
      expect(c.securityContext, c.name).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.securityContext.runAsUser, c.name).toBeGreaterThan(0);
      expect(c.resources.requests.cpu, c.name).toBeDefined();
      expect(c.resources.requests.memory, c.name).toBeDefined();
      expect(c.resources.limits.memory, c.name).toBeDefined();
    }
    // The image's user (Dockerfile USER node = 1000), as test/deploy/image.test.ts runs it.
    expect(container(dep, 'sigil').securityContext.runAsUser).toBe(1000);
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
  });

  it("probes: liveness on /healthz, readiness on /ready — SIGIL's real admin endpoints", () => {
    const sigil = container(agentPods(objs()), 'sigil');
    expect(sigil.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(sigil.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'admin' });
    const server = readFileSync(join(ROOT, 'src/admin/server.ts'), 'utf8');
    expect(server).toContain("path === '/healthz'");
    expect(server).toContain("path === '/ready'");
  });

  it("Envoy's config is envoy/sidecar.yaml with the listener on the pod IP, points at SIGIL's Check port, and the real Envoy validates it", () => {
    const dep = agentPods(objs());
    const envoy = container(dep, 'envoy');
    const file: string = envoy.args[envoy.args.indexOf('-c') + 1];
    const mount = envoy.volumeMounts.find((m: Obj) => file.startsWith(`${m.mountPath}/`));
    const vol = dep.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
    const text = one(objs(), 'ConfigMap', vol.configMap.name).data[file.slice(mount.mountPath.length + 1)];
    const cfg = parse(text);
    const reference = parse(readFileSync(join(ROOT, 'envoy/sidecar.yaml'), 'utf8'));
    const listener = cfg.static_resources.listeners[0].address.socket_address;
    expect(listener.address).toBe('0.0.0.0');
    reference.static_resources.listeners[0].address.socket_address.address = '0.0.0.0';
    expect(cfg).toEqual(reference);
    // Envoy → SIGIL over the pod's loopback at the port SIGIL listens on; the Service and policy target the listener.
    const { config } = sidecarConfig(objs(), dir);
    const authz = cfg.static_resources.clusters.find((c: Obj) => c.name === 'sigil_authz');
    expect(authz.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: host(config.authz.listen),
      port_value: port(config.authz.listen),
    });
    expect(envoy.ports.find((p: Obj) => p.name === 'envoy-http').containerPort).toBe(listener.port_value);
    // The Envoy image is the release the tests run (scripts/setup-tools.sh installs the same version).
    const tested = readFileSync(join(ROOT, 'scripts/setup-tools.sh'), 'utf8').match(
      /^ENVOY_VERSION=(\S+)$/m,
    )![1];
    expect(envoy.image).toBe(`docker.io/envoyproxy/envoy:v${tested}`);
    const path = join(work, `${dir.replaceAll('/', '-')}-envoy.yaml`);
    writeFileSync(path, text);
    const out = execFileSync(ENVOY, ['--mode', 'validate', '-c', path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toContain('OK');
  });

  it('Service, NetworkPolicy and PodDisruptionBudget select the agent pods; only Envoy is reachable', () => {
    const dep = agentPods(objs());
    const labels = dep.spec.template.metadata.labels;
    const svc = one(objs(), 'Service', 'sigil-agent');
    const np = one(objs(), 'NetworkPolicy', 'sigil-agent');
    const pdb = one(objs(), 'PodDisruptionBudget', 'sigil-agent');
    for (const sel of [svc.spec.selector, np.spec.podSelector.matchLabels, pdb.spec.selector.matchLabels])
      expect(labels).toMatchObject(sel);
    expect(svc.spec.ports.map((p: Obj) => p.targetPort)).toEqual(['envoy-http']);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const ingressPorts = np.spec.ingress.flatMap((r: Obj) => r.ports.map((p: Obj) => p.port));
    expect(ingressPorts).toEqual(['envoy-http']);
    // A drain can always evict one pod (a PDB that allows none blocks node drains for good), and with more than
    // one replica one keeps serving.
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeUndefined();
    // Everything lands in the agents' namespace, which enforces the restricted Pod Security level.
    const ns = one(objs(), 'Namespace');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of objs().filter((x) => x.kind !== 'Namespace'))
      expect(o.metadata.namespace).toBe(ns.metadata.name);
  });
});

describe('deploy/overlays', () => {
  it('production: three replicas, a required credentials Secret, more CPU than dev; dev generates its Secret', () => {
    const p = one(production, 'StatefulSet', 'sigil-agent');
    const d = one(dev, 'Deployment', 'sigil-agent');
    expect([d.spec.replicas, p.spec.replicas]).toEqual([1, 3]);
    const tokenRef = (dep: Obj) =>
      container(dep, 'sigil').env.find((e: Obj) => e.name === 'SIGIL__ADMIN__TOKEN').valueFrom.secretKeyRef;
    expect(tokenRef(p)).toMatchObject({ name: 'sigil-credentials', optional: false });
    expect(find(production, 'Secret')).toHaveLength(0);
    const secret = one(dev, 'Secret');
    // kustomize suffixes generated Secrets with a content hash and rewrites the reference to match.
    expect(tokenRef(d).name).toBe(secret.metadata.name);
    expect(Buffer.from(secret.data['admin-token'], 'base64').toString().length).toBeGreaterThanOrEqual(16);
    const cpu = (dep: Obj) => Number.parseFloat(container(dep, 'sigil').resources.requests.cpu) / 1000;
    expect(cpu(p)).toBeGreaterThan(cpu(d));
  });

  it('production: the data dir is a claim per pod that outlives it; the base pod template is otherwise kept', () => {
    const p = one(production, 'StatefulSet', 'sigil-agent');
    expect(find(production, 'Deployment')).toHaveLength(0);
    const mount = container(p, 'sigil').volumeMounts.find((m: Obj) => m.mountPath === '/var/lib/sigil');
    // No pod volume of that name: the StatefulSet's claim template provides it (one PVC per ordinal).
    expect(p.spec.template.spec.volumes.map((v: Obj) => v.name)).toEqual([
      'sigil-config',
      'envoy-config',
      'tmp',
    ]);
    const [claim, ...more] = p.spec.volumeClaimTemplates;
    expect(more).toEqual([]);
    expect(claim.metadata.name).toBe(mount.name);
    expect(claim.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '20Gi' } },
    });
    // Claims are kept when the set is deleted or scaled down (audit evidence); pods start in parallel; the
    // volume is chowned for fsGroup only when its root is wrong, not at every start.
    expect(p.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    expect(p.spec.podManagementPolicy).toBe('Parallel');
    expect(p.spec.serviceName).toBe(one(production, 'Service').metadata.name);
    expect(p.spec.template.spec.securityContext).toMatchObject({
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
    });
    // The rest of the pod template is the base's (dev's differs only by its patches): same containers, images.
    const d = one(dev, 'Deployment', 'sigil-agent');
    const names = (w: Obj) => w.spec.template.spec.containers.map((c: Obj) => `${c.name}=${c.image}`);
    expect(names(p)).toEqual(names(d));
    // Cluster-scoped pieces (CRDs, the operator's webhook) are installed once per cluster, not per overlay.
    expect(production.map((o: Obj) => o.kind)).not.toContain('CustomResourceDefinition');
    expect(production.map((o: Obj) => o.kind)).not.toContain('MutatingWebhookConfiguration');
  });

  it("a wrong key in SIGIL's config would stop the pod at start-up: the schema check above has teeth", () => {
    const cm = one(dev, 'ConfigMap', 'sigil-sidecar');
    const tmp = mkdtempSync(join(tmpdir(), 'sigil-deploy-bad-'));
    try {
      const path = join(tmp, 'sigil.yaml');
      writeFileSync(path, cm.data['sigil.yaml'].replace('listen: 127.0.0.1:9191', 'listen: 9191'));
      expect(() => loadConfig({ file: path, env: {} })).toThrow(/sigil\.authz\.listen/);
      writeFileSync(path, cm.data['sigil.yaml'].replace('min_free_bytes:', 'min_free_byte:'));
      expect(() => loadConfig({ file: path, env: {} })).toThrow(/sigil\.audit/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('kustomize build deploy/istio', () => {
  it("Istio's proxy replaces the Envoy container; the CUSTOM policy names the provider, which reaches SIGIL on loopback", () => {
    const dep = one(istio, 'Deployment', 'sigil-agent');
    expect(dep.spec.template.spec.containers.map((c: Obj) => c.name).sort()).toEqual(['agent', 'sigil']);
    expect(find(istio, 'ConfigMap', 'sigil-envoy')).toHaveLength(0);
    expect(dep.spec.template.spec.volumes.map((v: Obj) => v.name)).not.toContain('envoy-config');
    expect(one(istio, 'Namespace').metadata.labels['istio-injection']).toBe('enabled');

    const policy = one(istio, 'AuthorizationPolicy');
    expect(policy.apiVersion).toBe('security.istio.io/v1');
    expect(policy.spec.action).toBe('CUSTOM');
    expect(dep.spec.template.metadata.labels).toMatchObject(policy.spec.selector.matchLabels);
    expect(policy.spec.rules).toEqual([{}]);

    const mesh = parse(readFileSync(join(DEPLOY, 'istio/meshconfig.yaml'), 'utf8'));
    const provider = mesh.spec.meshConfig.extensionProviders.find(
      (p: Obj) => p.name === policy.spec.provider.name,
    );
    expect(provider.envoyExtAuthzGrpc).toMatchObject({ failOpen: false, statusOnError: '503' });
    const se = one(istio, 'ServiceEntry');
    expect(se.spec.hosts).toEqual([provider.envoyExtAuthzGrpc.service]);
    expect(se.spec.endpoints).toEqual([{ address: '127.0.0.1' }]);
    const { config } = sidecarConfig(istio, 'istio');
    expect(provider.envoyExtAuthzGrpc.port).toBe(port(config.authz.listen));
    expect(se.spec.ports[0]).toMatchObject({ number: port(config.authz.listen), protocol: 'GRPC' });
    // The same body settings as envoy/sidecar.yaml's ext_authz filter (MCP inspection, proof body binding).
    const filter = parse(readFileSync(join(ROOT, 'envoy/sidecar.yaml'), 'utf8')).static_resources.listeners[0]
      .filter_chains[0].filters[0].typed_config.http_filters[0].typed_config;
    expect(provider.envoyExtAuthzGrpc.includeRequestBodyInCheck).toEqual({
      maxRequestBytes: filter.with_request_body.max_request_bytes,
      allowPartialMessage: filter.with_request_body.allow_partial_message,
      packAsBytes: filter.with_request_body.pack_as_bytes,
    });
    // The agent now listens on the pod IP (Istio forwards there); the Service and policy follow.
    const agent = container(dep, 'agent');
    expect(agent.env).toContainEqual({ name: 'AGENT_HOST', value: '0.0.0.0' });
    expect(one(istio, 'Service').spec.ports[0].targetPort).toBe('agent-http');
    const ingress = one(istio, 'NetworkPolicy').spec.ingress.flatMap((r: Obj) =>
      r.ports.map((p: Obj) => p.port),
    );
    expect(ingress).toEqual(['agent-http', 15008]);
  });
});
