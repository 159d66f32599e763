/**
 * X.509 builtins (src/policy/lib/builtins/x509.ts): crypto.x509.parse_rsa_private_key equals the real `opa eval` on
 * keys of every PEM/DER kind Go reads (and ones it refuses); the X.509 builtins whose Go struct encoding SIGIL cannot
 * reproduce are refused at build, by name.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadBundle, PolicyError } from '../../src/policy/index.js';
import { type Call, mismatches, runBoth } from './builtins-oracle-exact.js';
import { opaBuildSources } from './support.js';

const pk = (k: KeyObject, type: 'pkcs1' | 'pkcs8' | 'sec1') => k.export({ type, format: 'pem' }).toString();
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const rsaSmall = generateKeyPairSync('rsa', { modulusLength: 768 }).privateKey;
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve }).privateKey;
const p256 = ec('P-256');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const fakeBlock = (type: string, body = 'AAEC') =>
  `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----\n`;

const INPUTS: string[] = [
  pk(rsa, 'pkcs1'),
  pk(rsa, 'pkcs8'),
  pk(rsaSmall, 'pkcs1'),
  pk(p256, 'sec1'),
  pk(p256, 'pkcs8'),
  pk(ec('P-384'), 'pkcs8'),
  pk(ec('P-521'), 'sec1'),
  pk(ec('P-224'), 'pkcs8'),
  pk(ec('secp256k1'), 'sec1'),
  pk(generateKeyPairSync('ed25519').privateKey, 'pkcs8'),
  pk(generateKeyPairSync('x25519').privateKey, 'pkcs8'),
  pk(generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey, 'pkcs8'),
  b64(pk(rsa, 'pkcs1')),
  b64(b64(pk(rsa, 'pkcs1'))),
  `junk before\n${pk(rsa, 'pkcs1')}junk after`,
  `${fakeBlock('CERTIFICATE')}${pk(p256, 'sec1')}`,
  `${pk(p256, 'sec1')}${pk(rsa, 'pkcs1')}`,
  `${pk(rsa, 'pkcs1')}${fakeBlock('RSA PRIVATE KEY')}`,
  fakeBlock('CERTIFICATE'),
  fakeBlock('RSA PRIVATE KEY'),
  fakeBlock('PRIVATE KEY', 'not base64!'),
  pk(rsa, 'pkcs1').replace('-----END RSA PRIVATE KEY-----', '-----END EC PRIVATE KEY-----'),
  pk(rsa, 'pkcs1').replace(/\n/g, '\r\n'),
  pk(rsa, 'pkcs1').slice(0, -30),
  '-----BEGIN',
  'not base64 at all',
  '',
];

describe('X.509 builtins', () => {
  it('crypto.x509.parse_rsa_private_key equals opa eval on every key form', async () => {
    const calls: Call[] = [...INPUTS.map((k) => ({ f: 'crypto.x509.parse_rsa_private_key', a: [k] }))];
    calls.push({ f: 'crypto.x509.parse_rsa_private_key', a: [42] });
    const { ours, theirs } = await runBoth(calls);
    expect(theirs).toHaveLength(calls.length);
    // Not vacuous: JWKs, null and undefined all occur.
    expect(theirs.some((o) => 'v' in o && o.v !== null)).toBe(true);
    expect(theirs.some((o) => 'v' in o && o.v === null)).toBe(true);
    expect(theirs.some((o) => 'u' in o)).toBe(true);
    expect(mismatches(calls, ours, theirs)).toEqual([]);
  }, 60_000);

  it('refuses at build the X.509 builtins whose Go struct output SIGIL cannot reproduce (POLICY_BUILTIN_MISSING)', async () => {
    const refused = [
      'crypto.x509.parse_certificates(input.a)',
      'crypto.x509.parse_and_verify_certificates(input.a)',
      'crypto.x509.parse_and_verify_certificates_with_options(input.a, {})',
      'crypto.x509.parse_certificate_request(input.a)',
      'crypto.x509.parse_keypair(input.a, input.b)',
    ];
    const rego = `package envoy.authz\n\nallow := [${refused.join(', ')}]\n`;
    const err = await loadBundle(opaBuildSources({ 'p.rego': rego })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).code).toBe('POLICY_BUILTIN_MISSING');
    for (const r of refused) expect((err as PolicyError).message).toContain(r.slice(0, r.indexOf('(')));
  });
});
