/**
 * End to end on a real control plane: `sigil operator` (the CLI, as its ServiceAccount with the RBAC of
 * deploy/operator/rbac.yaml) reconciles SigilPolicy / SigilTrust / SigilRevocation objects into the documents
 * a real `sigil serve` polls over HTTPS with the operator's CA pinned; a change made through a custom resource
 * changes that sidecar's decisions. Propagation times (object written → the running sidecar decides
 * differently) are measured and printed; docs/operator.md §Propagation quotes them. A second SigilTrust takes
 * its keys from a `jwksUri`: a real HTTPS JWKS server on loopback whose self-signed CA is the object's caBundle.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { mintRoot } from '../../src/token/index.js';
import { authzClient, callCheck } from '../support/authz-client.js';
import { checkRequest, toolsCall } from '../support/check-request.js';
import { type DocServer, startDocServer } from '../support/doc-server.js';
import { keyPair } from '../support/identity.js';
import { freePorts } from '../support/ports.js';
import { codeOfResponse } from '../support/proof.js';
import { runSigilCli, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';
import { type TestPki, testPki } from '../support/tls.js';
import { type Cluster, startCluster } from './support/cluster.js';
import {
  applyFiles,
  CR,
  createCr,
  DEPLOY,
  eventually,
  installCrds,
  kubeConfigFor,
  NS,
  ROOT,
  serviceAccountToken,
} from './support/kube.js';

const ISS = 'spiffe://mesh.example/sigil/issuer';
/** The issuer whose keys come from the JWKS server (SigilTrust `remote`, spec.jwksUri). */
const REMOTE_ISS = 'spiffe://mesh.example/sigil/remote-issuer';
/** The operator's operator.trust_sources.refresh_s. */
const REFRESH_S = 1;
const AUD = 'spiffe://mesh.example/agent/tools/i1';
/** The sidecar's poll interval (policy bundle, trust bundle, revocations), seconds. */
const POLL_S = 1;
/** What docs/operator.md promises with that interval: poll interval + watch + compile + margin on a busy host. */
const BOUND_MS = 5000;

const policyAllowing = (tool: string) =>
  `package envoy.authz\n\ndefault allow := false\n\nallow if {\n  input.sigil.valid\n  input.sigil.tool == "${tool}"\n}\n`;

let cluster: Cluster;
let admin: KubeConfig;
let custom: CustomObjectsApi;
let operator: ChildProcess;
let operatorOut = '';
let opUrl: string;
let sigil: SigilProcess;
let client: Client;
const keyA = keyPair();
const keyB = keyPair();
const keyC = keyPair();
const keyD = keyPair();
const keyE = keyPair();
let pki: TestPki;
let jwksServer: DocServer;
const figures: Record<string, number[]> = {};

const jwk = (k: ReturnType<typeof keyPair>, kid: string) => ({ kty: 'OKP', crv: 'Ed25519', x: k.jwk.x, kid });
const token = (key: ReturnType<typeof keyPair>, kid: string, task: string, iss = ISS) =>
  mintRoot({
    issuerKey: key.priv,
    kid,
    iss,
    sub: 'spiffe://mesh.example/agent/orchestrator/i1',
    aud: AUD,
    taskId: task,
    toolScope: ['fs.*'],
    ttl: 300,
    holderKey: keyPair().jwk,
  });
const decide = async (tok: string, tool = 'fs.read') =>
  codeOfResponse(await callCheck(client, checkRequest({ body: JSON.stringify(toolsCall(tool)) }, tok)));

/** Applies `change`, then polls the sidecar until `decide` gives `want`; returns the milliseconds it took. */
async function propagation(
  name: string,
  change: () => Promise<unknown>,
  probe: () => Promise<string>,
  want: string,
) {
  const t0 = performance.now();
  await change();
  const ms = await eventually(`${name} reaches the sidecar`, 20_000, async () =>
    (await probe()) === want ? performance.now() - t0 : undefined,
  );
  figures[name] = [...(figures[name] ?? []), Math.round(ms)];
  return ms;
}

const getCr = async (plural: string, name: string) =>
  (await custom.getNamespacedCustomObject({ ...CR, plural, name })) as {
    spec: Record<string, unknown>;
    status?: {
      conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
      [k: string]: unknown;
    };
    metadata: { generation: number };
  };
const condition = async (plural: string, name: string, type: string) =>
  (await getCr(plural, name)).status?.conditions?.find((c) => c.type === type);
const patchSpec = (plural: string, name: string, spec: Record<string, unknown>) =>
  custom.patchNamespacedCustomObject({
    ...CR,
    plural,
    name,
    body: Object.entries(spec).map(([k, value]) => ({ op: 'replace', path: `/spec/${k}`, value })),
  });

beforeAll(async () => {
  cluster = await startCluster();
  admin = cluster.admin();
  custom = admin.makeApiClient(CustomObjectsApi);
  await installCrds(admin);
  await applyFiles(admin, [join(DEPLOY, 'operator/namespace.yaml'), join(DEPLOY, 'operator/rbac.yaml')]);

  await createCr(custom, 'sigiltrusts', 'mesh', {
    trustDomains: ['mesh.example'],
    issuers: [ISS],
    jwks: { keys: [jwk(keyA, 'a')] },
  });
  await createCr(custom, 'sigilpolicies', 'default', { rego: policyAllowing('fs.read') });
  // The remote issuer's JWKS, served over HTTPS by a certificate of a throw-away CA (the object's caBundle).
  pki = testPki();
  jwksServer = await startDocServer(pki);
  jwksServer.set(JSON.stringify({ keys: [jwk(keyC, 'c')] }));
  await createCr(custom, 'sigiltrusts', 'remote', {
    trustDomains: ['mesh.example'],
    issuers: [REMOTE_ISS],
    jwksUri: jwksServer.url,
    caBundle: pki.read(pki.ca).toString(),
  });

  // `sigil operator` as its ServiceAccount: a real token from the TokenRequest API, bound by deploy/'s Role.
  const saToken = await serviceAccountToken(admin, NS, 'sigil-operator');
  const kubeconfig = kubeConfigFor(
    cluster.server,
    cluster.caPem,
    saToken,
    join(cluster.dir, 'operator.kubeconfig'),
  ).file;
  const cert = cluster.issueServingCert('operator');
  const [port] = (await freePorts(1)) as [number];
  opUrl = `https://127.0.0.1:${port}`;
  const configFile = join(cluster.dir, 'operator.yaml');
  writeFileSync(
    configFile,
    stringify({
      operator: {
        namespace: NS,
        listen: `127.0.0.1:${port}`,
        tls: { cert_file: cert.cert, key_file: cert.key },
        public_url: opUrl,
        kubeconfig,
        trust_sources: { refresh_s: REFRESH_S, timeout_ms: 2000 },
        injection: { sigil_image: 'localhost/sigil:test', envoy_image: 'envoyproxy/envoy:v1.40.0' },
      },
    }),
  );
  operator = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'operator', '--operator-config', configFile],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const keep = (d: Buffer) => {
    operatorOut += d.toString();
  };
  operator.stdout!.on('data', keep);
  operator.stderr!.on('data', keep);
  await eventually('sigil operator ready', 60_000, async () => {
    if (operator.exitCode !== null) throw new Error(`sigil operator exited:\n${operatorOut}`);
    return operatorOut.includes('sigil operator ready') ? true : undefined;
  }).catch((e) => {
    throw new Error(`${(e as Error).message}\n${operatorOut}`);
  });
  await eventually('policy compiled', 60_000, async () =>
    (await condition('sigilpolicies', 'default', 'Ready'))?.status === 'True' ? true : undefined,
  );
  await eventually('remote trust fetched', 30_000, async () =>
    (await condition('sigiltrusts', 'remote', 'Ready'))?.status === 'True' ? true : undefined,
  );

  // A real sidecar whose policy, trust and revocations all come from the operator, CA pinned.
  sigil = await startSigilProcess({
    agent: { spiffe_id: AUD },
    policy: {
      bundle: `${opUrl}/v1/policies/default/bundle.tar.gz`,
      ca_file: cluster.caFile,
      poll_interval: POLL_S,
    },
    validator: {
      refresh_interval: POLL_S,
      trust_bundles: [
        {
          source: `${opUrl}/v1/trust/mesh/jwks.json`,
          issuers: [ISS],
          trust_domains: ['mesh.example'],
          revocations: `${opUrl}/v1/revocations.json`,
          ca_file: cluster.caFile,
        },
        {
          source: `${opUrl}/v1/trust/remote/jwks.json`,
          issuers: [REMOTE_ISS],
          trust_domains: ['mesh.example'],
          ca_file: cluster.caFile,
        },
      ],
    },
  });
  client = authzClient(`127.0.0.1:${sigil.authzPort}`);
}, 240_000);

afterAll(async () => {
  client?.close();
  await sigil?.dispose();
  if (operator && operator.exitCode === null) {
    const exited = new Promise((r) => operator.once('exit', r));
    operator.kill('SIGTERM');
    await exited;
  }
  await cluster?.stop();
  await jwksServer?.close();
  pki?.dispose();
  // The measured figures, for docs/operator.md §Propagation.
  for (const [name, ms] of Object.entries(figures)) {
    const s = [...ms].sort((a, b) => a - b);
    console.log(
      `propagation ${name}: n=${s.length} min=${s[0]} median=${s[Math.floor(s.length / 2)]} max=${s.at(-1)} ms`,
    );
  }
});

describe('SigilPolicy → a running sigil serve', () => {
  it('the operator serves the compiled bundle with an ETag and answers 304 to it', async () => {
    const { request } = await import('node:https');
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; etag: string }>((resolve, reject) => {
        const req = request(
          `${opUrl}/v1/policies/default/bundle.tar.gz`,
          { ca: cluster.caPem, headers },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, etag: String(res.headers.etag) });
          },
        );
        req.on('error', reject);
        req.end();
      });
    const first = await get({});
    expect(first.status).toBe(200);
    expect((await get({ 'if-none-match': first.etag })).status).toBe(304);
    const status = (await getCr('sigilpolicies', 'default')).status!;
    expect(status.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(status.observedGeneration).toBe(1);
  });

  it('a policy change made through the custom resource flips the decision', async () => {
    const t = token(keyA, 'a', 'task-policy');
    expect(await decide(t)).toBe('OK');
    await propagation(
      'policy',
      () => patchSpec('sigilpolicies', 'default', { rego: policyAllowing('fs.write') }),
      () => decide(t),
      'POLICY_DENIED',
    );
    expect(await decide(t, 'fs.write')).toBe('OK');
    await propagation(
      'policy',
      () => patchSpec('sigilpolicies', 'default', { rego: policyAllowing('fs.read') }),
      () => decide(t),
      'OK',
    );
  });

  it('Rego that does not compile: status carries the compiler error, the last good bundle stays in force', async () => {
    await patchSpec('sigilpolicies', 'default', { rego: 'package envoy.authz\n\nallow if {\n' });
    const compiled = await eventually('Compiled=False', 30_000, async () => {
      const c = await condition('sigilpolicies', 'default', 'Compiled');
      return c?.status === 'False' ? c : undefined;
    });
    expect(compiled.reason).toBe('CompileFailed');
    expect(compiled.message).toContain('rego_parse_error');
    const ready = await condition('sigilpolicies', 'default', 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ServingPreviousRevision' });
    // Two poll intervals later the sidecar still decides with the previous revision.
    await new Promise((r) => setTimeout(r, 2 * POLL_S * 1000 + 500));
    expect(await decide(token(keyA, 'a', 'task-policy-2'))).toBe('OK');
    await patchSpec('sigilpolicies', 'default', { rego: policyAllowing('fs.read') });
    await eventually('Ready again', 30_000, async () =>
      (await condition('sigilpolicies', 'default', 'Ready'))?.status === 'True' ? true : undefined,
    );
  });

  it('an English policy is compiled by SIGIL, checked and built by the real OPA; bad English is refused with its position', async () => {
    await createCr(custom, 'sigilpolicies', 'english', { english: 'any agent may call fs.read.' });
    await createCr(custom, 'sigilpolicies', 'bad-english', { english: 'research agents may cal fs.read.' });
    const ok = await eventually('english Ready', 60_000, async () => {
      const s = (await getCr('sigilpolicies', 'english')).status;
      return s?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? s : undefined;
    });
    expect(ok.bundlePath).toBe('/v1/policies/english/bundle.tar.gz');
    const bad = await eventually('bad-english Compiled=False', 60_000, async () => {
      const c = await condition('sigilpolicies', 'bad-english', 'Compiled');
      return c?.status === 'False' ? c : undefined;
    });
    expect(bad.message).toContain('spec.english:1:');
    expect(bad.message).toContain('nearest supported phrasing');
    expect((await condition('sigilpolicies', 'bad-english', 'Ready'))?.reason).toBe('NoBundle');
  });
});

describe('SigilTrust → a running sigil serve', () => {
  it('a key added to the custom resource is trusted, a key removed is not', async () => {
    const tA = token(keyA, 'a', 'task-trust');
    const tB = token(keyB, 'b', 'task-trust');
    expect(await decide(tA)).toBe('OK');
    expect(await decide(tB)).toBe('TBIT_UNKNOWN_KEY');
    await propagation(
      'trust',
      () => patchSpec('sigiltrusts', 'mesh', { jwks: { keys: [jwk(keyA, 'a'), jwk(keyB, 'b')] } }),
      () => decide(tB),
      'OK',
    );
    await propagation(
      'trust',
      () => patchSpec('sigiltrusts', 'mesh', { jwks: { keys: [jwk(keyB, 'b')] } }),
      () => decide(tA),
      'TBIT_UNKNOWN_KEY',
    );
    expect(await decide(tB)).toBe('OK');
    const s = (await getCr('sigiltrusts', 'mesh')).status!;
    expect(s.keys).toBe(1);
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Served' });
    await patchSpec('sigiltrusts', 'mesh', { jwks: { keys: [jwk(keyA, 'a'), jwk(keyB, 'b')] } });
  });
});

describe('SigilTrust with a jwksUri → a running sigil serve', () => {
  const remote = (key: ReturnType<typeof keyPair>, kid: string, task = 'task-remote') =>
    token(key, kid, task, REMOTE_ISS);
  /** Long enough for the operator to read the source twice and the sidecar to poll twice. */
  const settle = () => new Promise((r) => setTimeout(r, 2 * (REFRESH_S + POLL_S) * 1000 + 500));
  const sourceCondition = async (want: string) =>
    eventually(`SourcesReady ${want}`, 20_000, async () => {
      const c = await condition('sigiltrusts', 'remote', 'SourcesReady');
      return c?.reason === want ? c : undefined;
    });

  it('a key added at the source reaches the sidecar through the operator', async () => {
    expect(await decide(remote(keyC, 'c'))).toBe('OK');
    expect(await decide(remote(keyD, 'd'))).toBe('TBIT_UNKNOWN_KEY');
    // A key of the remote issuer is bound to that issuer only: it cannot sign as the inline one.
    expect(await decide(token(keyC, 'c', 'task-remote'))).toBe('TBIT_ISSUER_NOT_BOUND');
    await propagation(
      'trust (jwksUri)',
      async () => jwksServer.set(JSON.stringify({ keys: [jwk(keyC, 'c'), jwk(keyD, 'd')] })),
      () => decide(remote(keyD, 'd')),
      'OK',
    );
    const s = (await getCr('sigiltrusts', 'remote')).status!;
    expect(s.source).toBe(jwksServer.url);
    await eventually('status keys 2', 10_000, async () =>
      (await getCr('sigiltrusts', 'remote')).status?.keys === 2 ? true : undefined,
    );
    expect(await condition('sigiltrusts', 'remote', 'SourcesReady')).toMatchObject({
      status: 'True',
      reason: 'Fetched',
    });
  });

  it.each([
    [
      'a non-Ed25519 key',
      { kty: 'EC', crv: 'P-256', kid: 'p', x: keyE.jwk.x, y: keyE.jwk.x },
      'not an Ed25519',
    ],
    ['a malformed key', { kty: 'OKP', crv: 'Ed25519', kid: 'm', x: 'short' }, 'base64url'],
    ['a private key', { ...jwk(keyE, 'e'), d: keyE.jwk.x }, 'private key'],
  ])(
    'a source serving %s is refused; the good keys stay and its new keys are not served',
    async (_what, bad, words) => {
      // Key e is new in this document: it must not be trusted while the document is refused.
      jwksServer.set(JSON.stringify({ keys: [jwk(keyC, 'c'), jwk(keyD, 'd'), jwk(keyE, 'e2'), bad] }));
      const c = await sourceCondition('InvalidKeys');
      expect(c.status).toBe('False');
      expect(c.message).toContain(words);
      expect(await condition('sigiltrusts', 'remote', 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ServingPreviousKeys',
      });
      await settle();
      expect(await decide(remote(keyD, 'd'))).toBe('OK');
      expect(await decide(remote(keyE, 'e2'))).toBe('TBIT_UNKNOWN_KEY');
      jwksServer.set(JSON.stringify({ keys: [jwk(keyC, 'c'), jwk(keyD, 'd')] }));
      await sourceCondition('Fetched');
    },
  );

  it('a certificate that does not chain to the caBundle is a failed fetch; nothing is served', async () => {
    await createCr(custom, 'sigiltrusts', 'wrong-ca', {
      trustDomains: ['mesh.example'],
      issuers: [REMOTE_ISS],
      jwksUri: jwksServer.url,
      caBundle: cluster.caPem,
    });
    const c = await eventually('wrong-ca FetchFailed', 20_000, async () => {
      const x = await condition('sigiltrusts', 'wrong-ca', 'SourcesReady');
      return x?.reason === 'FetchFailed' ? x : undefined;
    });
    expect(c.message).toContain('not trusted');
    expect(await condition('sigiltrusts', 'wrong-ca', 'Ready')).toMatchObject({
      status: 'False',
      reason: 'NotServed',
    });
  });

  it('a source that goes down keeps its last good keys served, and the condition says FetchFailed', async () => {
    await jwksServer.close();
    const c = await sourceCondition('FetchFailed');
    expect(c.status).toBe('False');
    expect(c.message).toContain(jwksServer.url);
    expect(await condition('sigiltrusts', 'remote', 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ServingPreviousKeys',
    });
    await settle();
    expect(await decide(remote(keyD, 'd', 'task-remote-down'))).toBe('OK');
    expect(await decide(remote(keyC, 'c', 'task-remote-down'))).toBe('OK');
  });
});

describe('SigilRevocation → a running sigil serve', () => {
  it(`a revoked task is denied within ${BOUND_MS} ms (five measurements)`, async () => {
    for (let i = 0; i < 5; i++) {
      const task = `task-revoke-${i}`;
      const t = token(keyA, 'a', task);
      await eventually('key a trusted', 10_000, async () => ((await decide(t)) === 'OK' ? true : undefined));
      const ms = await propagation(
        'revocation',
        () => createCr(custom, 'sigilrevocations', `revoke-${i}`, { taskId: task, reason: 'test' }),
        () => decide(t),
        'TBIT_REVOKED',
      );
      expect(ms).toBeLessThan(BOUND_MS);
      // Other tasks are untouched.
      expect(await decide(token(keyA, 'a', `other-${i}`))).toBe('OK');
    }
    const c = await condition('sigilrevocations', 'revoke-0', 'Ready');
    expect(c).toMatchObject({ status: 'True', reason: 'Listed' });
  });

  it('a revocation that expires leaves the list, and its status says Expired', async () => {
    const t = token(keyA, 'a', 'task-expiring');
    const expires = new Date(Date.now() + 4000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await createCr(custom, 'sigilrevocations', 'expiring', {
      taskId: 'task-expiring',
      reason: 'until the incident is closed',
      expires,
    });
    await eventually('revoked', 10_000, async () =>
      (await decide(t)) === 'TBIT_REVOKED' ? true : undefined,
    );
    await eventually('expired', 15_000, async () => ((await decide(t)) === 'OK' ? true : undefined));
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expires));
    await eventually('status Expired', 10_000, async () =>
      (await condition('sigilrevocations', 'expiring', 'Ready'))?.reason === 'Expired' ? true : undefined,
    );
  });

  it('deleting a revocation lifts it', async () => {
    const t = token(keyA, 'a', 'task-revoke-0');
    expect(await decide(t)).toBe('TBIT_REVOKED');
    await propagation(
      'revocation lifted',
      () => custom.deleteNamespacedCustomObject({ ...CR, plural: 'sigilrevocations', name: 'revoke-0' }),
      () => decide(t),
      'OK',
    );
  });
});

describe('sigil operator (CLI)', () => {
  it('refuses a bad configuration at start, naming the key, before it talks to any API server', async () => {
    const bad = join(cluster.dir, 'bad-operator.yaml');
    writeFileSync(
      bad,
      stringify({
        operator: {
          namespace: NS,
          tls: { cert_file: 'x', key_file: 'y' },
          public_url: 'http://insecure',
          injection: { sigil_image: 'a', envoy_image: 'b' },
        },
      }),
    );
    const r = await runSigilCli(bad, ['operator', '--operator-config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^OPERATOR_CONFIG_INVALID: config operator\.public_url: /);
  });
});
