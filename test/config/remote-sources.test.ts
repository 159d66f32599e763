/**
 * Start-up validation of trust and policy sources (docs/keys.md §Remote sources, §Trust for other issuers): https only,
 * loopback http only with the flag, a pinned CA only on https, and every trust bundle bound to issuers and trust
 * domains. Each refusal is CONFIG_INVALID naming the exact key.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { messageOf } from './helpers.js';

const ISS_A = 'spiffe://a.mesh/sigil/issuer';
const source = (over: Record<string, unknown> = {}) => ({
  source: '/etc/sigil/a.jwks.json',
  issuers: [ISS_A],
  trust_domains: ['a.mesh'],
  ...over,
});
const load = (overrides: Record<string, unknown>) => loadConfig({ env: {}, overrides });
const bundles = (...list: Record<string, unknown>[]) => ({ validator: { trust_bundles: list } });

describe('sigil.validator.trust_bundles', () => {
  it('accepts a bound file source and an https source with a pinned CA', () => {
    const c = load(
      bundles(source(), source({ source: 'https://a.example/jwks.json', ca_file: '/etc/sigil/a-ca.pem' })),
    );
    expect(c.validator.trust_bundles.map((t) => [t.source, t.allow_loopback_http])).toEqual([
      ['/etc/sigil/a.jwks.json', false],
      ['https://a.example/jwks.json', false],
    ]);
  });

  it.each([
    [
      'http:// without the flag',
      { source: 'http://127.0.0.1:8080/jwks.json' },
      'source',
      'http:// is refused',
    ],
    [
      'http:// to a non-loopback host, even with the flag',
      { source: 'http://10.0.0.5/jwks.json', allow_loopback_http: true },
      'source',
      'loopback',
    ],
    [
      'http:// to a name that only looks local',
      { source: 'http://localhost.evil.example/jwks.json', allow_loopback_http: true },
      'source',
      'loopback',
    ],
    ['another URL scheme', { source: 'ftp://a.example/jwks.json' }, 'source', 'only https://'],
    ['a pinned CA on a file source', { ca_file: '/etc/ca.pem' }, 'ca_file', 'https://'],
    [
      'an http:// revocation list',
      { source: 'https://a.example/jwks.json', revocations: 'http://a.example/rev.json' },
      'revocations',
      'http:// is refused',
    ],
  ])('refuses %s, naming the key', (_name, over, key, why) => {
    const msg = messageOf(() => load(bundles(source(), source(over))));
    expect(msg).toContain(`config sigil.validator.trust_bundles.1.${key}:`);
    expect(msg).toContain(why);
  });

  it.each([
    'http://127.0.0.1:8080/jwks.json',
    'http://127.8.9.10/jwks.json',
    'http://[::1]:8080/jwks.json',
    'http://localhost:8080/jwks.json',
  ])('accepts loopback %s with allow_loopback_http', (url) => {
    expect(
      load(bundles(source({ source: url, allow_loopback_http: true }))).validator.trust_bundles,
    ).toHaveLength(1);
  });

  it.each([
    ['no issuers', { issuers: [] }, 'issuers', 'at least one issuer'],
    ['an issuer that is not a SPIFFE ID', { issuers: ['https://a.example'] }, 'issuers.0', 'SPIFFE ID'],
    ['an issuer with a ".." segment', { issuers: ['spiffe://a.mesh/../x'] }, 'issuers.0', 'SPIFFE ID'],
    ['no trust domains', { trust_domains: [] }, 'trust_domains', 'at least one trust domain'],
    ['a trust domain given as an ID', { trust_domains: ['spiffe://a.mesh'] }, 'trust_domains.0', 'no scheme'],
    ['an upper-case trust domain', { trust_domains: ['A.mesh'] }, 'trust_domains.0', 'trust domain'],
    ['a missing binding', { issuers: undefined }, 'issuers', ''],
    ['an unknown key', { trust_domain: 'a.mesh' }, '', 'trust_domain'],
  ])('refuses a malformed binding (%s), naming the key', (_name, over, key, why) => {
    const msg = messageOf(() => load(bundles(source(over))));
    expect(msg).toContain(`config sigil.validator.trust_bundles.0${key ? `.${key}` : ''}:`);
    expect(msg).toContain(why);
  });

  it('refuses trust_bundle and trust_bundles together', () => {
    const msg = messageOf(() =>
      load({ validator: { trust_bundle: '/etc/b.json', trust_bundles: [source()] } }),
    );
    expect(msg).toContain('config sigil.validator.trust_bundle:');
  });
});

describe('sigil.validator.trust_bundle (deprecated single string)', () => {
  it('still loads a file path or an https URL', () => {
    expect(load({ validator: { trust_bundle: '/etc/b.json' } }).validator.trust_bundle).toBe('/etc/b.json');
    expect(load({ validator: { trust_bundle: 'https://b.example/jwks.json' } }).validator.trust_bundle).toBe(
      'https://b.example/jwks.json',
    );
  });
  it('refuses http://, even to loopback (the string form has no flag)', () => {
    const msg = messageOf(() =>
      load({ validator: { trust_bundle: 'http://127.0.0.1:9180/.well-known/jwks.json' } }),
    );
    expect(msg).toContain('config sigil.validator.trust_bundle:');
  });
});

describe('sigil.policy transport', () => {
  it('refuses an http:// bundle without the flag and a non-loopback one with it', () => {
    expect(messageOf(() => load({ policy: { bundle: 'http://127.0.0.1:8181/b.tar.gz' } }))).toContain(
      'config sigil.policy.bundle: http:// is refused',
    );
    expect(
      messageOf(() =>
        load({ policy: { bundle: 'http://bundles.example/b.tar.gz', allow_loopback_http: true } }),
      ),
    ).toContain('config sigil.policy.bundle:');
  });
  it('accepts a loopback http bundle with the flag, and https with a pinned CA', () => {
    const c = load({ policy: { bundle: 'http://[::1]:8181/b.tar.gz', allow_loopback_http: true } });
    expect(c.policy.allow_loopback_http).toBe(true);
    const p = load({ policy: { bundle: 'https://bundles.example/b.tar.gz', ca_file: '/etc/ca.pem' } }).policy;
    expect(p.ca_file).toBe('/etc/ca.pem');
  });
  it('refuses a ca_file without an https bundle', () => {
    expect(messageOf(() => load({ policy: { ca_file: '/etc/ca.pem' } }))).toContain(
      'config sigil.policy.ca_file:',
    );
    expect(messageOf(() => load({ policy: { bundle: '/srv/b.tar.gz', ca_file: '/etc/ca.pem' } }))).toContain(
      'config sigil.policy.ca_file: needs an https:// bundle',
    );
  });
  it('takes trust_bundles from the environment as YAML', () => {
    const c = loadConfig({
      env: {
        SIGIL__VALIDATOR__TRUST_BUNDLES: `[{source: https://a.example/jwks.json, issuers: [${ISS_A}], trust_domains: [a.mesh]}]`,
      },
    });
    expect(c.validator.trust_bundles[0]?.issuers).toEqual([ISS_A]);
  });
});
