/**
 * Policy bundles over real local HTTPS servers (certificates made by openssl at test time, docs/policy.md §11):
 * a pinned CA is the only one trusted; a certificate from another CA is POLICY_SOURCE_REFUSED, and the engine stays
 * fail closed (POLICY_NOT_LOADED before the first good bundle; the bundle in force after it). Plain http:// is
 * refused unless allowed for a loopback host.
 */
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../src/policy/index.js';
import { type DocServer, startDocServer } from '../support/doc-server.js';
import { type TestPki, testPki } from '../support/tls.js';
import { context, opaBuildSources } from './support.js';

const build = (allow: boolean, rev: string) =>
  opaBuildSources({ 'p.rego': `package envoy.authz\n\nallow := ${allow}\n` }, undefined, rev);

let ALLOW: Buffer;
let DENY: Buffer;
let caA: TestPki;
let caB: TestPki;
const servers: DocServer[] = [];
const engines: PolicyEngine[] = [];
beforeAll(() => {
  ALLOW = build(true, 'allow-1');
  DENY = build(false, 'deny-1');
  caA = testPki();
  caB = testPki();
});
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  caA.dispose();
  caB.dispose();
});

async function serve(pki: TestPki | undefined, body: Buffer): Promise<DocServer> {
  const s = await startDocServer(pki);
  servers.push(s);
  s.set(body, 'application/gzip');
  return s;
}

async function start(source: string, extra: Partial<Parameters<typeof PolicyEngine.start>[0]> = {}) {
  const engine = await PolicyEngine.start({
    source,
    registry: new Registry(),
    pollIntervalMs: 60_000,
    evalTimeoutMs: 10_000,
    ...extra,
  });
  engines.push(engine);
  return engine;
}

const ctx = context();

describe('https policy bundle with a pinned CA', () => {
  it('loads from a server whose certificate chains to the pinned CA', async () => {
    const s = await serve(caA, ALLOW);
    const engine = await start(s.url, { ca: caA.read(caA.ca) });
    expect(engine.lastLoadError).toBeUndefined();
    expect(engine.decide(ctx)).toMatchObject({ allowed: true, code: 'OK', revision: 'allow-1' });
  });

  it('refuses a server certificate from another CA: no policy, every decision POLICY_NOT_LOADED', async () => {
    const s = await serve(caB, ALLOW);
    const engine = await start(s.url, { ca: caA.read(caA.ca) });
    expect(engine.lastLoadError?.code).toBe('POLICY_SOURCE_REFUSED');
    expect(engine.decide(ctx)).toMatchObject({ allowed: false, code: 'POLICY_NOT_LOADED' });
    expect(s.requests).toBe(0);
  });

  it('a refresh from a server now presenting another CA keeps the bundle in force', async () => {
    const s = await serve(caA, ALLOW);
    const engine = await start(s.url, { ca: caA.read(caA.ca) });
    s.useCertOf(caB);
    s.set(DENY, 'application/gzip');
    expect(await engine.refresh()).toBe(false);
    expect(engine.lastLoadError?.code).toBe('POLICY_SOURCE_REFUSED');
    expect(engine.decide(ctx)).toMatchObject({ allowed: true, revision: 'allow-1' });
    s.useCertOf(caA);
    expect(await engine.refresh()).toBe(true);
    expect(engine.decide(ctx)).toMatchObject({ allowed: false, code: 'POLICY_DENIED', revision: 'deny-1' });
  });
});

describe('plain http policy bundle', () => {
  it('is refused without allowLoopbackHttp, before connecting', async () => {
    const s = await serve(undefined, ALLOW);
    await expect(start(s.url)).rejects.toMatchObject({ code: 'POLICY_SOURCE_REFUSED' });
    expect(s.requests).toBe(0);
  });
  it('loads from a loopback host with allowLoopbackHttp', async () => {
    const s = await serve(undefined, ALLOW);
    const engine = await start(s.url.replace('127.0.0.1', 'localhost'), { allowLoopbackHttp: true });
    expect(engine.decide(ctx)).toMatchObject({ allowed: true, revision: 'allow-1' });
  });
  it('is refused for a non-loopback host even with allowLoopbackHttp', async () => {
    await expect(start('http://192.0.2.10/b.tar.gz', { allowLoopbackHttp: true })).rejects.toMatchObject({
      code: 'POLICY_SOURCE_REFUSED',
    });
  });
});
