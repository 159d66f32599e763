/**
 * JWT builtins (src/policy/lib/builtins/jwt.ts) against the real `opa eval`: tokens signed here with node:crypto
 * (every algorithm OPA supports), verified with keys as PEM public key, PEM certificate (made by openssl), JWK and
 * JWKS — plus wrong keys, wrong algorithms, tampering, bad encodings and every decode_verify constraint.
 */
import { execFileSync } from 'node:child_process';
import {
  constants,
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../src/policy/index.js';
import { type Call, evalOpa, evalSigil, mismatches, runBoth } from './builtins-oracle-exact.js';
import { opaBuildSources, tempDir } from './support.js';

const tmp = tempDir('sigil-jwt-');
afterAll(() => tmp.cleanup());

const b64u = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const enc = (v: object | string) => b64u(typeof v === 'string' ? v : JSON.stringify(v));

/** A compact JWS with `signer` over the signing input (header/payload given as objects or raw JSON text). */
function jws(header: object | string, payload: object | string, signer: (data: Buffer) => Buffer): string {
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${b64u(signer(Buffer.from(input)))}`;
}

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }) as Pair;
const rsaOther = generateKeyPairSync('rsa', { modulusLength: 2048 }) as Pair;
const rsaSmall = generateKeyPairSync('rsa', { modulusLength: 768 }) as Pair;
const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }) as Pair;
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }) as Pair;
const ec521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }) as Pair;
const ed = generateKeyPairSync('ed25519') as Pair;
const edOther = generateKeyPairSync('ed25519') as Pair;

const pem = (p: Pair) => p.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const jwk = (p: Pair, extra: object = {}) => ({ ...p.publicKey.export({ format: 'jwk' }), ...extra });
const jwkText = (p: Pair, extra: object = {}) => JSON.stringify(jwk(p, extra));

/** A self-signed certificate for `keyArgs` made by openssl, with its private key. */
function certificate(name: string, keyArgs: string[]): { cert: string; key: KeyObject } {
  const k = join(tmp.dir, `${name}.key`);
  const c = join(tmp.dir, `${name}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', ...keyArgs, '-keyout', k, '-out', c, '-nodes', '-subj', `/CN=${name}`, '-days', '2'],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(c, 'utf8'), key: createPrivateKey(readFileSync(k)) };
}

const HASHES = { '256': 'sha256', '384': 'sha384', '512': 'sha512' } as const;
type Bits = keyof typeof HASHES;
const BITS: Bits[] = ['256', '384', '512'];

const signers = {
  rs: (key: KeyObject, bits: Bits) => (d: Buffer) =>
    sign(HASHES[bits], d, { key, padding: constants.RSA_PKCS1_PADDING }),
  ps:
    (key: KeyObject, bits: Bits, saltLength = Number(bits) / 8) =>
    (d: Buffer) =>
      sign(HASHES[bits], d, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
  es:
    (key: KeyObject, bits: Bits, dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363') =>
    (d: Buffer) =>
      sign(HASHES[bits], d, { key, dsaEncoding }),
  ed: (key: KeyObject) => (d: Buffer) => sign(null, d, key),
  hs: (secret: string, bits: Bits) => (d: Buffer) => createHmac(HASHES[bits], secret).update(d).digest(),
};

const claims = { sub: 'alice', iss: 'https://issuer', aud: 'api', exp: 4_102_444_800, nbf: 1_600_000_000 };

function asymmetricCases(): Call[] {
  const calls: Call[] = [];
  const rsaCert = certificate('rsa', ['-newkey', 'rsa:2048']);
  const ecCert = certificate('ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const edCert = certificate('ed', ['-newkey', 'ed25519']);
  for (const bits of BITS) {
    for (const fam of ['rs', 'ps'] as const) {
      const f = `io.jwt.verify_${fam}${bits}`;
      const alg = `${fam.toUpperCase()}${bits}`;
      const good = jws({ alg, typ: 'JWT' }, claims, signers[fam](rsa.privateKey, bits));
      const viaCert = jws({ alg }, claims, signers[fam](rsaCert.key, bits));
      calls.push(
        { f, a: [good, pem(rsa)] },
        { f, a: [good, `${pem(rsa)}\n`] },
        { f, a: [good, jwkText(rsa)] },
        { f, a: [good, JSON.stringify({ keys: [jwk(rsaOther), jwk(rsa)] })] },
        { f, a: [good, JSON.stringify({ keys: [jwk(rsa, { alg: 'RS999' })] })] },
        { f, a: [good, JSON.stringify({ keys: [jwk(rsa, { alg: 'RSA-OAEP' })] })] },
        { f, a: [good, JSON.stringify({ keys: [jwk(rsa, { alg: 7 })] })] },
        { f, a: [good, JSON.stringify(rsa.privateKey.export({ format: 'jwk' }))] },
        { f, a: [good, JSON.stringify({ keys: 'x' })] },
        { f, a: [good, JSON.stringify({ keys: [] })] },
        { f, a: [good, JSON.stringify({ keys: [{ kty: 'RSA' }] })] },
        { f, a: [good, JSON.stringify({ keys: [jwk(rsa, { alg: fam === 'rs' ? 'PS256' : 'RS256' })] })] },
        { f, a: [good, pem(rsaOther)] },
        { f, a: [good, pem(ec256)] },
        { f, a: [viaCert, rsaCert.cert] },
        { f, a: [good, rsaCert.cert] },
        { f, a: [good, 'not a key'] },
        { f, a: [good, ''] },
        { f, a: [good.replace(/\.[^.]+\./, `.${enc({ ...claims, sub: 'mallory' })}.`), pem(rsa)] },
        { f, a: [`${good}=`, pem(rsa)] },
        { f, a: [good.slice(0, -2), pem(rsa)] },
        { f, a: [jws({ alg, enc: 'A128GCM' }, claims, signers[fam](rsa.privateKey, bits)), pem(rsa)] },
        { f, a: [jws('{"alg":', claims, signers[fam](rsa.privateKey, bits)), pem(rsa)] },
        { f, a: [jws({ alg: 5 }, claims, signers[fam](rsa.privateKey, bits)), pem(rsa)] },
        { f, a: [jws({ alg, kid: 'other' }, claims, signers[fam](rsa.privateKey, bits)), pem(rsa)] },
        { f, a: [good, 42] },
        { f, a: [7, pem(rsa)] },
        { f, a: ['nodots', pem(rsa)] },
      );
      if (fam === 'rs') {
        // Go 1.24+ crypto/rsa refuses keys under 1024 bits.
        calls.push({ f, a: [jws({ alg }, claims, signers.rs(rsaSmall.privateKey, bits)), pem(rsaSmall)] });
      }
      // kid selects one key even if another would verify.
      const kidded = jws({ alg, kid: 'k2' }, claims, signers[fam](rsa.privateKey, bits));
      calls.push(
        { f, a: [kidded, JSON.stringify({ keys: [jwk(rsa, { kid: 'k1' }), jwk(rsaOther, { kid: 'k2' })] })] },
        { f, a: [kidded, JSON.stringify({ keys: [jwk(rsaOther, { kid: 'k1' }), jwk(rsa, { kid: 'k2' })] })] },
        { f, a: [kidded, JSON.stringify({ keys: [jwk(rsaOther, { kid: 'k1' }), jwk(rsa)] })] },
      );
    }
    const f = `io.jwt.verify_es${bits}`;
    const alg = `ES${bits}`;
    const curve = { '256': ec256, '384': ec384, '512': ec521 }[bits];
    const good = jws({ alg }, claims, signers.es(curve.privateKey, bits));
    calls.push(
      { f, a: [good, pem(curve)] },
      { f, a: [good, jwkText(curve)] },
      { f, a: [good, pem(ec256)] },
      { f, a: [good, pem(rsa)] },
      { f, a: [jws({ alg }, claims, signers.es(curve.privateKey, bits, 'der')), pem(curve)] },
      { f, a: [jws({ alg }, claims, signers.es(ec384.privateKey, bits)), pem(ec384)] },
      { f, a: [jws({ alg }, claims, signers.es(ecCert.key, bits)), ecCert.cert] },
      { f, a: [`${good.slice(0, good.lastIndexOf('.') + 1)}${b64u(Buffer.alloc(64))}`, pem(curve)] },
      { f, a: [good, JSON.stringify({ ...jwk(curve), d: 'AAAA' })] },
      { f, a: [good, JSON.stringify(curve.privateKey.export({ format: 'jwk' }))] },
    );
    const hf = `io.jwt.verify_hs${bits}`;
    const hgood = jws({ alg: `HS${bits}` }, claims, signers.hs('s3cret', bits));
    calls.push(
      { f: hf, a: [hgood, 's3cret'] },
      { f: hf, a: [hgood, 'wrong'] },
      { f: hf, a: [hgood, ''] },
      { f: hf, a: [`${hgood}=`, 's3cret'] },
      { f: hf, a: [hgood.replace(/^[^.]+/, 'garbage!'), 's3cret'] },
      { f: hf, a: [jws('not json', claims, signers.hs('k', bits)), 'k'] },
      { f: hf, a: [hgood, 5] },
      { f: hf, a: ['a.b', 's3cret'] },
    );
  }
  const egood = jws({ alg: 'EdDSA' }, claims, signers.ed(ed.privateKey));
  calls.push(
    { f: 'io.jwt.verify_eddsa', a: [egood, pem(ed)] },
    { f: 'io.jwt.verify_eddsa', a: [egood, jwkText(ed)] },
    { f: 'io.jwt.verify_eddsa', a: [egood, pem(edOther)] },
    { f: 'io.jwt.verify_eddsa', a: [egood, pem(rsa)] },
    { f: 'io.jwt.verify_eddsa', a: [jws({ alg: 'EdDSA' }, claims, signers.ed(edCert.key)), edCert.cert] },
    { f: 'io.jwt.verify_eddsa', a: [egood.slice(0, -4), pem(ed)] },
    { f: 'io.jwt.verify_rs256', a: [egood, pem(ed)] },
    { f: 'io.jwt.verify_es256', a: [egood, pem(ed)] },
  );
  return calls;
}

function decodeVerifyCases(): Call[] {
  const f = 'io.jwt.decode_verify';
  const now = 1_767_225_600e9; // constraint times are nanoseconds
  const rs = (payload: object | string, header: object = { alg: 'RS256' }) =>
    jws(header, payload, signers.rs(rsa.privateKey, '256'));
  const hs = (payload: object | string, header: object = { alg: 'HS256' }, secret = 'k') =>
    jws(header, payload, signers.hs(secret, '256'));
  const inner = hs({ sub: 'inner', aud: 'api' });
  const calls: Call[] = [
    { f, a: [rs(claims), { cert: pem(rsa), aud: 'api', time: now }] },
    { f, a: [rs(claims), { cert: pem(rsa), time: now }] },
    { f, a: [rs(claims), { cert: pem(rsaOther), aud: 'api', time: now }] },
    {
      f,
      a: [rs(claims), { cert: jwkText(rsa), aud: 'api', time: now, alg: 'RS256', iss: 'https://issuer' }],
    },
    { f, a: [rs(claims), { cert: pem(rsa), aud: 'api', time: now, alg: 'RS384' }] },
    { f, a: [rs(claims), { cert: pem(rsa), aud: 'api', time: now, iss: 'other' }] },
    { f, a: [rs({ sub: 'x' }), { cert: pem(rsa), time: now, iss: 'other' }] },
    { f, a: [rs({ sub: 'x' }), { cert: pem(rsa), time: now, aud: 'api' }] },
    { f, a: [rs({ aud: ['a', 'api'] }), { cert: pem(rsa), time: now, aud: 'api' }] },
    { f, a: [rs({ aud: ['a', 1] }), { cert: pem(rsa), time: now, aud: 'api' }] },
    { f, a: [rs({ aud: [] }), { cert: pem(rsa), time: now }] },
    { f, a: [rs({ aud: 5 }), { cert: pem(rsa), time: now, aud: 'api' }] },
    // exp/nbf boundaries: valid iff time < exp and time >= nbf (seconds, float).
    { f, a: [rs({ exp: 1_767_225_600 }), { cert: pem(rsa), time: now }] },
    { f, a: [rs({ exp: 1_767_225_600.5 }), { cert: pem(rsa), time: now }] },
    { f, a: [rs({ exp: 1_767_225_601 }), { cert: pem(rsa), time: now }] },
    { f, a: [rs({ nbf: 1_767_225_600 }), { cert: pem(rsa), time: now }] },
    { f, a: [rs({ nbf: 1_767_225_601 }), { cert: pem(rsa), time: now }] },
    { f, a: [rs({ nbf: 1_767_225_599.999 }), { cert: pem(rsa), time: now + 1 }] },
    { f, a: [rs({ exp: '1767225601' }), { cert: pem(rsa), time: now }] },
    { f, a: [rs({ nbf: null }), { cert: pem(rsa), time: now }] },
    { f, a: [rs({ exp: 4_102_444_800 }), { cert: pem(rsa) }] },
    { f, a: [rs({ exp: 946_684_800 }), { cert: pem(rsa) }] },
    { f, a: [rs(claims), { cert: pem(rsa), aud: 'api', time: -1 }] },
    { f, a: [rs(claims), { cert: pem(rsa), aud: 'api', time: '1' }] },
    { f, a: [rs(claims), { cert: pem(rsa), aud: 'api', time: 0 }] },
    // Key constraints.
    { f, a: [hs({ sub: 'x' }), { secret: 'k', time: now }] },
    { f, a: [hs({ sub: 'x' }), { secret: 'wrong', time: now }] },
    { f, a: [hs({ sub: 'x' }), { secret: '', time: now }] },
    { f, a: [hs({ sub: 'x' }), { time: now }] },
    { f, a: [hs({ sub: 'x' }), { secret: 'k', cert: pem(rsa), time: now }] },
    { f, a: [hs({ sub: 'x' }), { secret: 'k', time: now, foo: 1 }] },
    { f, a: [hs({ sub: 'x' }), { secret: 5, time: now }] },
    { f, a: [hs({ sub: 'x' }), { cert: 'garbage', time: now }] },
    { f, a: [hs({ sub: 'x' }), { cert: pem(rsa), time: now }] },
    { f, a: [hs({ sub: 'x' }), { cert: JSON.stringify({ kty: 'oct', k: b64u('k') }), time: now }] },
    { f, a: [hs({ sub: 'x' }), 'not an object'] },
    { f, a: [rs({ sub: 'x' }), { secret: 'k', time: now }] },
    // Header validity.
    { f, a: [hs({ sub: 'x' }, {}), { secret: 'k', time: now }] },
    { f, a: [hs({ sub: 'x' }, { alg: 'none' }), { secret: 'k', time: now }] },
    { f, a: [hs({ sub: 'x' }, { alg: 'HS256', crit: ['exp'], exp: 1 }), { secret: 'k', time: now }] },
    { f, a: [hs({ sub: 'x' }, { alg: 'HS256', crit: ['alg'] }), { secret: 'k', time: now }] },
    { f, a: [hs({ sub: 'x' }, { alg: 'HS256', crit: [] }), { secret: 'k', time: now }] },
    { f, a: [hs({ sub: 'x' }, { alg: 'HS256', crit: [1] }), { secret: 'k', time: now }] },
    { f, a: [hs({ sub: 'x' }, { alg: 'HS256', kid: 3 }), { secret: 'k', time: now }] },
    { f, a: [hs('[1,2]'), { secret: 'k', time: now }] },
    { f, a: [hs('not json'), { secret: 'k', time: now }] },
    // Nested JWT (cty, case-insensitive here).
    { f, a: [hs(inner, { alg: 'HS256', cty: 'jwt' }), { secret: 'k', time: now, aud: 'api' }] },
    { f, a: [hs(inner, { alg: 'HS256', cty: 'JWT' }), { secret: 'k', time: now }] },
    { f, a: [hs('not.a.jwt', { alg: 'HS256', cty: 'JWT' }), { secret: 'k', time: now }] },
  ];
  // Every algorithm through decode_verify, with PEM, JWK and JWKS keys.
  for (const bits of BITS) {
    const curve = { '256': ec256, '384': ec384, '512': ec521 }[bits];
    const tokens: [string, Pair | string][] = [
      [jws({ alg: `RS${bits}` }, { sub: 'x' }, signers.rs(rsa.privateKey, bits)), rsa],
      [jws({ alg: `PS${bits}` }, { sub: 'x' }, signers.ps(rsa.privateKey, bits)), rsa],
      [jws({ alg: `PS${bits}` }, { sub: 'x' }, signers.ps(rsa.privateKey, bits, 20)), rsa],
      [jws({ alg: `ES${bits}` }, { sub: 'x' }, signers.es(curve.privateKey, bits)), curve],
      [jws({ alg: `ES${bits}` }, { sub: 'x' }, signers.es(ec256.privateKey, bits)), ec256],
      [jws({ alg: `HS${bits}` }, { sub: 'x' }, signers.hs('k', bits)), 'k'],
    ];
    for (const [t, k] of tokens) {
      if (typeof k === 'string') {
        calls.push({ f, a: [t, { secret: k, time: now }] });
        continue;
      }
      calls.push(
        { f, a: [t, { cert: pem(k), time: now }] },
        { f, a: [t, { cert: JSON.stringify({ keys: [jwk(k, { kid: 'a' })] }), time: now }] },
        { f, a: [t, { cert: pem(rsaOther), time: now }] },
      );
    }
    // Also the asymmetric verify_ps* (salt auto-detected) on a 20-byte-salt token.
    calls.push({
      f: `io.jwt.verify_ps${bits}`,
      a: [jws({ alg: `PS${bits}` }, { sub: 'x' }, signers.ps(rsa.privateKey, bits, 20)), pem(rsa)],
    });
  }
  const eg = jws({ alg: 'EdDSA' }, { sub: 'x' }, signers.ed(ed.privateKey));
  calls.push(
    { f, a: [eg, { cert: pem(ed), time: now }] },
    { f, a: [eg, { cert: jwkText(ed), time: now, alg: 'EdDSA' }] },
    { f, a: [eg, { cert: pem(edOther), time: now }] },
  );
  return calls;
}

function decodeCases(): Call[] {
  const f = 'io.jwt.decode';
  const h = enc({ alg: 'none' }); // 'eyJhbGciOiJub25lIn0' (19 chars: needs one '=')
  const p = enc({ sub: 'u', n: [1, 2] });
  const s = b64u('sig');
  const inner = `${h}.${p}.${s}`;
  return [
    inner,
    `${h}=.${p}.${s}`,
    `${h}==.${p}.${s}`,
    `${h}.${p}.${s}=`,
    `${h}.${p}.${s}==`,
    `${h}.${p}.`,
    `${h}.${p}`,
    `${h}.${p}.${s}.x`,
    `${h}.${enc('[1]')}.${s}`,
    `${h}.${enc('')}.${s}`,
    `${enc({ alg: 'none', enc: 'A128GCM' })}.${p}.${s}`,
    `${enc({ alg: 'none', cty: 'JWT' })}.${enc(`"${inner}"`)}.${s}`,
    `${enc({ alg: 'none', cty: 'jwt' })}.${enc(inner)}.${s}`,
    `${h}.${p}.${s.slice(0, 2)}\n${s.slice(2)}`,
    `${h}.${p}+/.${s}`,
    `${h.replace(/-/g, '+')}.${p}.${s}`,
    `${b64u(Buffer.from([0xff, 0xfe]))}.${p}.${s}`,
    'a.b',
    '',
    '..',
    // Claims as Go reads them: one U+FFFD per invalid UTF-8 byte, integers beyond 2^53 exact, duplicates last.
    ...[[0xe2, 0x9c], [0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf0, 0x9f, 0x98]].map(
      (bytes) =>
        `${h}.${b64u(Buffer.concat([Buffer.from('{"s":"'), Buffer.from(bytes), Buffer.from('"}')]))}.${s}`,
    ),
    `${h}.${enc('{"n":12345678901234567890,"m":-98765432109876543210,"f":1.5,"x":"12345678901234567890","d":1,"d":2}')}.${s}`,
    `${h}.${enc('{"s":"\\u0000abc:0","a":[1234567890123456789,{"b":99999999999999999}]}')}.${s}`,
  ].map((t) => ({ f, a: [t] }));
}

describe('JWT builtins equal opa eval', () => {
  const tables: [string, () => Call[]][] = [
    [
      'io.jwt.verify_{rs,ps,es,hs}* and verify_eddsa with PEM, certificate, JWK and JWKS keys',
      asymmetricCases,
    ],
    ['io.jwt.decode_verify: every algorithm and constraint, exp/nbf boundaries, nesting', decodeVerifyCases],
    ['io.jwt.decode: padding, nesting, JWE and bad encodings', decodeCases],
  ];
  for (const [name, make] of tables) {
    it(name, async () => {
      const calls = make();
      const { ours, theirs } = await runBoth(calls);
      expect(theirs).toHaveLength(calls.length);
      // Not vacuous: valid results, invalid ones and undefined (errors) all occur.
      const kinds = new Set(theirs.map((o) => ('v' in o ? JSON.stringify(o.v).slice(0, 5) : 'undef')));
      expect(kinds.size).toBeGreaterThanOrEqual(2);
      expect(mismatches(calls, ours, theirs)).toEqual([]);
    }, 60_000);
  }
});

describe('where OPA itself fails the whole query', () => {
  const hs = (header: object, payload: object) => jws(header, payload, signers.hs('k', '256'));
  const cases: Call[] = [
    { f: 'io.jwt.decode', a: [hs({ alg: 'HS256', cty: 5 }, { sub: 'x' })] },
    { f: 'io.jwt.decode_verify', a: [hs({ alg: 'HS256' }, { iss: 7 }), { secret: 'k', iss: 'a', time: 0 }] },
  ];
  for (const c of cases) {
    it(`${c.f} with a non-string ${c.f === 'io.jwt.decode' ? 'cty header' : 'iss claim'}: opa eval errors (Go panic), SIGIL is undefined`, async () => {
      expect(() => evalOpa([c])).toThrow(/panic|error/i);
      expect(await evalSigil([c])).toEqual([{ u: true }]);
    });
  }
});

describe('base64 builtins compiled into the Wasm (docs/policy.md §6, src/policy/lib/wasm-natives.ts)', () => {
  it('are routed to the host and strict where OPA is (the Wasm C decoders are lenient)', async () => {
    const calls: Call[] = [
      { f: 'base64.decode', a: ['YQ'] },
      { f: 'base64.decode', a: [''] },
      { f: 'base64.is_valid', a: ['a b'] },
      { f: 'base64url.decode', a: ['c3VyZQ='] },
      { f: 'base64.decode', a: ['YQ=='] },
    ];
    const b = await loadBundle(
      opaBuildSources({
        'p.rego':
          'package envoy.authz\n\nallow := [base64.decode(input.a), base64url.decode(input.a), base64.is_valid(input.a)]\n',
      }),
    );
    expect([...b.requiredBuiltins].sort()).toEqual(['base64.decode', 'base64.is_valid', 'base64url.decode']);
    const ours = await evalSigil(calls);
    const theirs = evalOpa(calls);
    expect(theirs).toEqual([{ u: true }, { v: '' }, { v: false }, { u: true }, { v: 'a' }]);
    expect(ours).toEqual(theirs);
  });
});
