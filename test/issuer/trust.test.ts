import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type IssuerStores, openIssuerStores } from '../../src/issuer/open-stores.js';
import { IssuerService, LOCAL_OPERATOR } from '../../src/issuer/service.js';
import { verifyChain } from '../../src/token/index.js';
import { AGENT, cleanupDirs, codeOf, tempDir, testOptions } from './helpers.js';

const open: IssuerStores[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  cleanupDirs();
});

async function sidecar(over: Record<string, unknown> = {}) {
  const dir = tempDir();
  const options = testOptions(dir, over);
  const stores = await openIssuerStores(options, { watch: false });
  open.push(stores);
  stores.keys.agents.ensure(options.agentId);
  return { dir, options, stores, service: new IssuerService({ options, ...stores }) };
}

describe('localTrustStore', () => {
  it("trusts its own keys and, through the configured bundle, another sidecar's issuer (same default iss)", async () => {
    const a = await sidecar();
    const c = await sidecar();
    a.stores.keys.issuer.signer();
    const bundle = join(tempDir(), 'bundle.json');
    writeFileSync(bundle, JSON.stringify(a.stores.keys.issuer.jwks()));
    const b = await sidecar({ validator: { trust_bundle: bundle } });
    const req = { sub: AGENT, task_id: 't', tool_scope: ['fs.read'] };
    const fromA = a.service.mint(req, LOCAL_OPERATOR).token;
    const fromB = b.service.mint(req, LOCAL_OPERATOR).token;
    const fromC = c.service.mint(req, LOCAL_OPERATOR).token;
    const verifyAtB = (t: string) => verifyChain(t, { trust: b.stores.trust });
    expect(verifyAtB(fromA).depth).toBe(1);
    expect(verifyAtB(fromB).depth).toBe(1);
    expect(codeOf(() => verifyAtB(fromC))).toBe('TBIT_UNKNOWN_KEY');
    // Without the bundle, A's tokens are unknown at C.
    expect(codeOf(() => verifyChain(fromA, { trust: c.stores.trust }))).toBe('TBIT_UNKNOWN_KEY');
  });

  it('an unreadable configured bundle stops start-up with a clear code (fail closed, no silent empty trust)', async () => {
    const dir = tempDir();
    await expect(
      openIssuerStores(testOptions(dir, { validator: { trust_bundle: join(dir, 'missing.json') } }), {
        watch: false,
      }),
    ).rejects.toMatchObject({
      code: 'TBIT_TRUST_BUNDLE_INVALID',
    });
  });

  it('a revocations URL is refused with CONFIG_INVALID (this sidecar must be able to write its list)', () => {
    const revocations = 'https://example.invalid/r.json';
    expect(codeOf(() => testOptions(tempDir(), { validator: { revocations } }))).toBe('CONFIG_INVALID');
  });
});
