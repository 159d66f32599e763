/**
 * The dashboard `sigil serve` mounts (src/serve dashboardFromConfig): the policy view works on the Check path's
 * engine, so an uploaded bundle is in force for Checks when the upload answers; when the decider was replaced it
 * runs an engine of its own on the configured bundle.
 */
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AdminServer, startAdminServer } from '../../src/admin/index.js';
import { loadConfig } from '../../src/config/index.js';
import { MerkleLog } from '../../src/ledger/index.js';
import { adminTokenPath } from '../../src/serve/dashboard-options.js';
import { createPolicyDecider, dashboardFromConfig } from '../../src/serve/index.js';
import { opaBuildSources, tempDir } from '../policy/support.js';
import { testIdentity } from '../support/identity.js';

const TOKEN = 'serve-dashboard-admin-token-abcdef';
const tmp = tempDir('sigil-serve-dashboard-');
const bundleFile = join(tmp.dir, 'bundle.tar.gz');
const id = testIdentity();
const logger = pino({ level: 'silent' });
let log: MerkleLog;
let DENY: Buffer;
const closers: Array<() => unknown> = [];

const config = () =>
  loadConfig({
    env: {},
    overrides: {
      data_dir: tmp.dir,
      admin: { listen: '127.0.0.1:0', token: TOKEN },
      policy: { bundle: bundleFile, poll_interval: 3600 },
    },
  });

beforeAll(async () => {
  writeFileSync(
    bundleFile,
    opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow := true\n' }, undefined, 'allow-1'),
  );
  DENY = opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow := false\n' }, undefined, 'deny-1');
  log = await MerkleLog.open(join(tmp.dir, 'ledger'), { origin: 'sigil.mesh/sigil/audit' });
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
afterAll(async () => {
  await log.close();
  tmp.cleanup();
});

async function mount(policy: Awaited<ReturnType<typeof createPolicyDecider>>): Promise<AdminServer> {
  const server = await startAdminServer({
    listen: '127.0.0.1:0',
    registry: new Registry(),
    isReady: () => true,
  });
  closers.push(() => server.close());
  const api = await dashboardFromConfig({
    config: config(),
    logger,
    ledger: log,
    issuer: { stores: { trust: id.trust } } as never,
    policy,
  });
  closers.push(() => api.close());
  server.mount(api);
  return server;
}

const api = (server: AdminServer, path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) },
  });

describe('dashboardFromConfig', () => {
  it('shares the Check path engine: an upload is in force for Checks when it answers', async () => {
    const decider = (await createPolicyDecider(config(), { registry: new Registry(), logger }))!;
    closers.push(() => decider.close?.());
    const server = await mount(decider);
    const info = (await (await api(server, '/api/policy')).json()) as { revision?: string };
    expect(info.revision).toBe('allow-1');
    const res = await api(server, '/api/policy/bundle', {
      method: 'POST',
      headers: { 'content-type': 'application/gzip' },
      body: DENY,
    });
    expect(res.status).toBe(200);
    expect(decider.revision).toBe('deny-1'); // no poll needed: the same engine swapped
    writeFileSync(
      bundleFile,
      opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow := true\n' }, undefined, 'allow-1'),
    );
  });

  it('runs its own engine on the configured bundle when the decider was replaced', async () => {
    const server = await mount(undefined);
    const info = (await (await api(server, '/api/policy')).json()) as { revision?: string; source?: string };
    expect(info).toMatchObject({ revision: 'allow-1', source: bundleFile });
  });
});

describe('dashboardFromConfig without sigil.admin.token', () => {
  it('writes the generated token to a 0600 file in the data dir and never logs it', async () => {
    const dataDir = join(tmp.dir, 'generated');
    const file = adminTokenPath(dataDir);
    // A symlink planted at the path is replaced, never followed into its target.
    const decoy = join(tmp.dir, 'decoy');
    writeFileSync(decoy, 'decoy\n');
    mkdirSync(dataDir);
    symlinkSync(decoy, file);
    const lines: string[] = [];
    const captured = pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
    const mountGenerated = async () => {
      const cfg = loadConfig({
        env: {},
        overrides: { data_dir: dataDir, admin: { listen: '127.0.0.1:0' }, policy: { bundle: bundleFile } },
      });
      const server = await startAdminServer({
        listen: '127.0.0.1:0',
        registry: new Registry(),
        isReady: () => true,
      });
      closers.push(() => server.close());
      const handler = await dashboardFromConfig({
        config: cfg,
        logger: captured,
        ledger: log,
        issuer: { stores: { trust: id.trust } } as never,
        policy: undefined,
        adminUrl: server.url,
      });
      closers.push(() => handler.close());
      server.mount(handler);
      return server;
    };
    const server = await mountGenerated();
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(lstatSync(file).isFile()).toBe(true);
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).not.toContain(token);
    const warn = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.token_file === file);
    expect(warn?.dashboard).toBe(`${server.url}/#token=<contents of token_file>`);
    const ok = await fetch(`${server.url}/api/policy`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    const no = await fetch(`${server.url}/api/policy`, {
      headers: { authorization: 'Bearer wrong-token-0123456789' },
    });
    expect(no.status).toBe(401);
    // A second start replaces the file with a fresh one-off token.
    await mountGenerated();
    const second = readFileSync(file, 'utf8').trim();
    expect(second).not.toBe(token);
    for (const l of lines) expect(l).not.toContain(second);
    expect(readFileSync(decoy, 'utf8')).toBe('decoy\n');
  });
});
