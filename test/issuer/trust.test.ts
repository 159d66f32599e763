import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type IssuerStores, openIssuerStores } from '../../src/issuer/open-stores.js';
import { IssuerService, LOCAL_OPERATOR } from '../../src/issuer/service.js';
import { trustBundleWarning } from '../../src/serve/issuer-options.js';
import { mintRoot, verifyChain } from '../../src/token/index.js';
import { testPki } from '../support/tls.js';
import { AGENT, cleanupDirs, codeOf, ISSUER_ID, tempDir, testConfig, testOptions } from './helpers.js';

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

/** Sidecar A of trust domain a.mesh (its own issuer id and agent), and A's JWKS written to a bundle file. */
const A_ISS = 'spiffe://a.mesh/sigil/issuer';
async function sidecarA() {
  const a = await sidecar({
    issuer: { spiffe_trust_domain: 'a.mesh' },
    agent: { spiffe_id: 'spiffe://a.mesh/agent/local/dev' },
  });
  const signer = a.stores.keys.issuer.signer();
  const bundle = join(tempDir(), 'a.jwks.json');
  writeFileSync(bundle, JSON.stringify(a.stores.keys.issuer.jwks()));
  /** A root signed with A's real issuer key, claiming any iss and sub. */
  const signedByA = (iss: string, sub: string) =>
    mintRoot({
      issuerKey: signer.privateKey,
      kid: signer.kid,
      iss,
      sub,
      aud: `spiffe://${sub.split('/')[2]}`,
      taskId: 't',
      toolScope: ['fs.read'],
      ttl: 60,
    });
  return { a, bundle, signedByA };
}

describe('trust-bundle scope (no bundle vouches beyond its binding)', () => {
  it('a bundle bound to issuer A / trust domain a.mesh cannot vouch for another issuer or trust domain', async () => {
    const { a, bundle, signedByA } = await sidecarA();
    const b = await sidecar({
      validator: { trust_bundles: [{ source: bundle, issuers: [A_ISS], trust_domains: ['a.mesh'] }] },
    });
    const atB = (t: string) => verifyChain(t, { trust: b.stores.trust }).depth;
    // A's own tokens, and A's key used within its binding: accepted.
    const req = { sub: 'spiffe://a.mesh/agent/x/1', task_id: 't', tool_scope: ['fs.read'] };
    expect(atB(a.service.mint(req, LOCAL_OPERATOR).token)).toBe(1);
    expect(atB(signedByA(A_ISS, 'spiffe://a.mesh/agent/y/1'))).toBe(1);
    // A's key minting for B's own issuer id, or a third issuer: not bound (the any-iss fallback is gone).
    expect(codeOf(() => atB(signedByA(ISSUER_ID, AGENT)))).toBe('TBIT_ISSUER_NOT_BOUND');
    expect(codeOf(() => atB(signedByA('spiffe://c.mesh/sigil/issuer', 'spiffe://a.mesh/agent/y/1')))).toBe(
      'TBIT_ISSUER_NOT_BOUND',
    );
    // A's issuer id, but a subject in B's trust domain: not bound.
    expect(codeOf(() => atB(signedByA(A_ISS, AGENT)))).toBe('TBIT_TRUST_DOMAIN_NOT_BOUND');
    // B's own tokens are unaffected.
    expect(
      atB(b.service.mint({ sub: AGENT, task_id: 't', tool_scope: ['fs.read'] }, LOCAL_OPERATOR).token),
    ).toBe(1);
  });

  it("a sidecar's own keys are bound to its own issuer id and trust domain", async () => {
    const b = await sidecar();
    const signer = b.stores.keys.issuer.signer();
    const mint = (iss: string, sub: string) =>
      mintRoot({
        issuerKey: signer.privateKey,
        kid: signer.kid,
        iss,
        sub,
        aud: 'spiffe://sigil.mesh',
        taskId: 't',
        toolScope: ['x'],
        ttl: 60,
      });
    const atB = (t: string) => verifyChain(t, { trust: b.stores.trust }).depth;
    expect(atB(mint(ISSUER_ID, AGENT))).toBe(1);
    expect(codeOf(() => atB(mint('spiffe://sigil.mesh/other-issuer', AGENT)))).toBe('TBIT_ISSUER_NOT_BOUND');
    expect(codeOf(() => atB(mint(ISSUER_ID, 'spiffe://other.mesh/agent/x/1')))).toBe(
      'TBIT_TRUST_DOMAIN_NOT_BOUND',
    );
    // The issuer's self-check refuses to hand out a token its own verifier would not accept.
    expect(
      codeOf(() =>
        b.service.mint(
          { sub: 'spiffe://other.mesh/agent/x/1', task_id: 't', tool_scope: ['x'] },
          LOCAL_OPERATOR,
        ),
      ),
    ).toBe('TBIT_TRUST_DOMAIN_NOT_BOUND');
  });

  it('the deprecated string trust_bundle still loads, bound to the own issuer id and trust domain, with a warning', async () => {
    const { bundle, signedByA } = await sidecarA();
    const b = await sidecar({ validator: { trust_bundle: bundle } });
    const atB = (t: string) => verifyChain(t, { trust: b.stores.trust }).depth;
    // What the string form was for: another sidecar of the mesh sharing the default issuer id.
    expect(atB(signedByA(ISSUER_ID, AGENT))).toBe(1);
    expect(codeOf(() => atB(signedByA(A_ISS, 'spiffe://sigil.mesh/agent/y/1')))).toBe(
      'TBIT_ISSUER_NOT_BOUND',
    );
    expect(codeOf(() => atB(signedByA(ISSUER_ID, 'spiffe://a.mesh/agent/y/1')))).toBe(
      'TBIT_TRUST_DOMAIN_NOT_BOUND',
    );
    const warning = trustBundleWarning(testConfig(tempDir(), { validator: { trust_bundle: bundle } }));
    expect(warning).toContain(`issuer ${ISSUER_ID}`);
    expect(warning).toContain('trust domain sigil.mesh');
    expect(trustBundleWarning(testConfig(tempDir()))).toBeUndefined();
  });

  it('a ca_file that is missing or not PEM stops start-up naming the key', () => {
    const dir = tempDir();
    const notPem = join(dir, 'ca.pem');
    writeFileSync(notPem, 'not a certificate');
    const src = (ca_file: string) => ({
      validator: {
        trust_bundles: [
          { source: 'https://a.example/jwks.json', issuers: [A_ISS], trust_domains: ['a.mesh'], ca_file },
        ],
      },
    });
    let e = captured(() => testOptions(dir, src(join(dir, 'missing.pem'))));
    expect([e.code, e.message.startsWith('config sigil.validator.trust_bundles.0.ca_file:')]).toEqual([
      'CONFIG_UNREADABLE',
      true,
    ]);
    e = captured(() => testOptions(dir, src(notPem)));
    expect([e.code, e.message.startsWith('config sigil.validator.trust_bundles.0.ca_file:')]).toEqual([
      'CONFIG_INVALID',
      true,
    ]);
    const pki = testPki();
    try {
      expect(testOptions(dir, src(pki.ca)).trustSources[0]?.ca).toContain('BEGIN CERTIFICATE');
    } finally {
      pki.dispose();
    }
  });
});

function captured(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error('expected an error');
}
