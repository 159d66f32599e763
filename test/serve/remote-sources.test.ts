/** `sigil.validator.trust_bundles` / `sigil.policy` → module options: CA files read at start-up, naming the key. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { issuerOptions } from '../../src/serve/index.js';
import { policyEngineOptions } from '../../src/serve/policy-options.js';
import { testPki } from '../support/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-remote-'));
const pki = testPki();
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.dispose();
});
const notPem = join(dir, 'not.pem');
writeFileSync(notPem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
const config = (overrides: Record<string, unknown>) =>
  loadConfig({ env: {}, overrides: { data_dir: dir, ...overrides } });
const policy = (ca_file: string) =>
  config({ policy: { bundle: 'https://bundles.example/b.tar.gz', ca_file } });
const codeAndKey = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [(e as ConfigError).code, (e as Error).message.split(':')[0]];
  }
  throw new Error('expected a ConfigError');
};

describe('sigil.policy.ca_file', () => {
  it('is read into the engine options with the loopback flag', () => {
    const o = policyEngineOptions(policy(pki.ca));
    expect(o?.ca).toBe(pki.read(pki.ca).toString());
    expect(o?.allowLoopbackHttp).toBe(false);
  });
  it('a missing file is CONFIG_UNREADABLE and a non-PEM one CONFIG_INVALID, naming the key', () => {
    expect(codeAndKey(() => policyEngineOptions(policy(join(dir, 'nope.pem'))))).toEqual([
      'CONFIG_UNREADABLE',
      'config sigil.policy.ca_file',
    ]);
    expect(codeAndKey(() => policyEngineOptions(policy(notPem)))).toEqual([
      'CONFIG_INVALID',
      'config sigil.policy.ca_file',
    ]);
  });
});

describe('sigil.validator.trust_bundles → trust sources', () => {
  it('maps each source with its binding and transport; the string form is bound to the own issuer', () => {
    const c = config({
      validator: {
        trust_bundles: [
          {
            source: 'https://a.example/jwks.json',
            issuers: ['spiffe://a.mesh/sigil/issuer'],
            trust_domains: ['a.mesh'],
            revocations: 'https://a.example/rev.json',
            ca_file: pki.ca,
          },
          {
            source: 'http://[::1]:8080/jwks.json',
            issuers: ['spiffe://b.mesh/sigil/issuer'],
            trust_domains: ['b.mesh'],
            allow_loopback_http: true,
          },
        ],
      },
    });
    const [a, b] = issuerOptions(c).trustSources;
    expect(a).toMatchObject({
      source: 'https://a.example/jwks.json',
      issuers: ['spiffe://a.mesh/sigil/issuer'],
      trustDomains: ['a.mesh'],
      revocations: 'https://a.example/rev.json',
      allowLoopbackHttp: false,
    });
    expect(a?.ca).toContain('BEGIN CERTIFICATE');
    expect(b).toMatchObject({ allowLoopbackHttp: true, trustDomains: ['b.mesh'] });
    expect(b?.ca).toBeUndefined();
    const legacy = issuerOptions(
      config({ issuer: { spiffe_trust_domain: 'x.mesh' }, validator: { trust_bundle: '/etc/b.json' } }),
    );
    expect(legacy.trustSources).toEqual([
      { source: '/etc/b.json', issuers: ['spiffe://x.mesh/sigil/issuer'], trustDomains: ['x.mesh'] },
    ]);
    expect(issuerOptions(config({})).trustSources).toEqual([]);
  });
});
