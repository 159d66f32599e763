/**
 * THE shared table of malformed tokens (noble style): every token parser in SIGIL must reject each entry with
 * a TbitError (never another exception, never a crash, never an allow). Exported for the authz tests, which
 * send the same table through Envoy. `code` is the code verifyChain must give; `parse: true` means the
 * failure is syntactic, so decodeChain (no keys involved) must reject it with the same code too.
 */
import type { TbitErrorCode } from '../../src/token/errors.js';

/** One malformed input. */
export interface MalformedToken {
  name: string;
  /** Usually a string; a few entries are other types, as a careless caller could pass. */
  token: unknown;
  code: TbitErrorCode;
  /** True when the failure needs no key (decodeChain rejects it too). */
  parse: boolean;
}

const b64 = (v: unknown): string =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const SIG = Buffer.alloc(64, 7).toString('base64url');
const HDR = { alg: 'EdDSA', typ: 'tbit+jwt', kid: 'not-a-known-kid' };
const NOW = 1_767_225_600;
/** Well-formed claims (valid shape), so entries isolate one defect. */
const CLAIMS = {
  iss: 'spiffe://sigil.mesh/sigil/issuer',
  sub: 'spiffe://sigil.mesh/agent/x/1',
  aud: 'spiffe://sigil.mesh',
  iat: NOW,
  nbf: NOW,
  exp: NOW + 60,
  jti: 'j1',
  task_id: 't1',
  tool_scope: ['fs.read'],
  dep: 1,
  dmax: 10,
};
const jws = (h: unknown, p: unknown, s = SIG): string => `${b64(h)}.${b64(p)}.${s}`;
const good = jws(HDR, CLAIMS);
const withHeader = (extra: Record<string, unknown>): string => jws({ ...HDR, ...extra }, CLAIMS);
const withClaims = (extra: Record<string, unknown>): string => jws(HDR, { ...CLAIMS, ...extra });

const deepArray = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number): string => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

export const MALFORMED_TOKENS: readonly MalformedToken[] = [
  // --- not a string / empty / size caps
  { name: 'number instead of string', token: 42, code: 'TBIT_MALFORMED', parse: true },
  { name: 'null', token: null, code: 'TBIT_MALFORMED', parse: true },
  { name: 'object', token: { token: good }, code: 'TBIT_MALFORMED', parse: true },
  { name: 'empty string', token: '', code: 'TBIT_MALFORMED', parse: true },
  { name: '1 MB of "a"', token: 'a'.repeat(1024 * 1024), code: 'TBIT_TOO_LARGE', parse: true },
  {
    name: '16 KiB + 1',
    token: `${good}~${'A'.repeat(16 * 1024 - good.length)}`,
    code: 'TBIT_TOO_LARGE',
    parse: true,
  },
  { name: '11 hops', token: Array(11).fill(good).join('~'), code: 'TBIT_TOO_LARGE', parse: true },
  { name: '11 empty hops (10 tildes)', token: '~'.repeat(10), code: 'TBIT_TOO_LARGE', parse: true },
  // --- hop separators
  { name: '"~~" in the middle', token: `${good}~~${good}`, code: 'TBIT_MALFORMED', parse: true },
  { name: 'leading "~"', token: `~${good}`, code: 'TBIT_MALFORMED', parse: true },
  { name: 'trailing "~"', token: `${good}~`, code: 'TBIT_MALFORMED', parse: true },
  { name: 'only "~"', token: '~', code: 'TBIT_MALFORMED', parse: true },
  // --- segment count and empty segments
  { name: 'one segment', token: 'abc', code: 'TBIT_MALFORMED', parse: true },
  { name: 'two segments', token: `${b64(HDR)}.${b64(CLAIMS)}`, code: 'TBIT_MALFORMED', parse: true },
  { name: 'four segments', token: `${good}.${SIG}`, code: 'TBIT_MALFORMED', parse: true },
  {
    name: 'truncated (half a token)',
    token: good.slice(0, Math.floor(good.length / 2)),
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  { name: 'empty header segment', token: `.${b64(CLAIMS)}.${SIG}`, code: 'TBIT_MALFORMED', parse: true },
  { name: 'empty payload segment', token: `${b64(HDR)}..${SIG}`, code: 'TBIT_MALFORMED', parse: true },
  {
    name: 'empty signature segment',
    token: `${b64(HDR)}.${b64(CLAIMS)}.`,
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  { name: 'just dots', token: '..', code: 'TBIT_MALFORMED', parse: true },
  // --- base64url
  {
    name: 'standard base64 "+/"',
    token: `${b64(HDR)}.${b64(CLAIMS)}.${SIG.slice(0, -2)}+/`,
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  { name: 'padding "="', token: `${b64(HDR)}=.${b64(CLAIMS)}.${SIG}`, code: 'TBIT_MALFORMED', parse: true },
  {
    name: 'non-canonical trailing bits',
    token: `${b64(HDR)}.${b64(CLAIMS)}.${SIG.slice(0, -1)}B`,
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  {
    name: 'impossible length (4n+1)',
    token: `${b64(HDR)}.${b64(CLAIMS)}A.${SIG}`,
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  { name: 'leading space', token: ` ${good}`, code: 'TBIT_MALFORMED', parse: true },
  { name: 'trailing newline', token: `${good}\n`, code: 'TBIT_MALFORMED', parse: true },
  { name: '"Bearer " prefix left on', token: `Bearer ${good}`, code: 'TBIT_MALFORMED', parse: true },
  { name: 'unicode garbage', token: '💥.💥.💥', code: 'TBIT_MALFORMED', parse: true },
  { name: 'NUL bytes', token: '\u0000.\u0000.\u0000', code: 'TBIT_MALFORMED', parse: true },
  { name: 'lone surrogate', token: `${good}\ud800`, code: 'TBIT_MALFORMED', parse: true },
  { name: 'unicode around "~"', token: `é~${good}`, code: 'TBIT_MALFORMED', parse: true },
  // --- JSON
  { name: 'header not JSON', token: jws('not json', CLAIMS), code: 'TBIT_MALFORMED', parse: true },
  { name: 'header is an array', token: jws([HDR], CLAIMS), code: 'TBIT_MALFORMED', parse: true },
  {
    name: 'header is a string',
    token: jws(JSON.stringify('EdDSA'), CLAIMS),
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  { name: 'header is null', token: jws('null', CLAIMS), code: 'TBIT_MALFORMED', parse: true },
  { name: 'header is a number', token: jws('1e999', CLAIMS), code: 'TBIT_MALFORMED', parse: true },
  { name: 'payload not JSON', token: jws(HDR, '{"iss":'), code: 'TBIT_MALFORMED', parse: true },
  { name: 'payload is an array', token: jws(HDR, '[]'), code: 'TBIT_MALFORMED', parse: true },
  { name: 'payload is true', token: jws(HDR, 'true'), code: 'TBIT_MALFORMED', parse: true },
  {
    name: 'payload invalid UTF-8',
    token: `${b64(HDR)}.${Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')}.${SIG}`,
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  {
    name: 'nested array bomb in header',
    token: jws(deepArray(5000), CLAIMS),
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  {
    name: 'unclosed nesting bomb in payload',
    token: jws(HDR, '['.repeat(9000)),
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  {
    name: 'nested object bomb in payload',
    token: jws(HDR, deepObject(1500)),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'nested object bomb inside a claim',
    token: withClaims({ tool_scope: JSON.parse(deepArray(1000)) }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  // --- algorithm and header parameters
  {
    name: 'alg none',
    token: `${b64({ ...HDR, alg: 'none' })}.${b64(CLAIMS)}.${SIG}`,
    code: 'TBIT_ALG_REJECTED',
    parse: true,
  },
  {
    name: 'alg none, empty signature',
    token: `${b64({ ...HDR, alg: 'none' })}.${b64(CLAIMS)}.`,
    code: 'TBIT_MALFORMED',
    parse: true,
  },
  { name: 'alg HS256', token: withHeader({ alg: 'HS256' }), code: 'TBIT_ALG_REJECTED', parse: true },
  { name: 'alg RS256', token: withHeader({ alg: 'RS256' }), code: 'TBIT_ALG_REJECTED', parse: true },
  { name: 'alg ES256', token: withHeader({ alg: 'ES256' }), code: 'TBIT_ALG_REJECTED', parse: true },
  { name: 'alg Ed448', token: withHeader({ alg: 'Ed448' }), code: 'TBIT_ALG_REJECTED', parse: true },
  {
    name: 'alg lower-case eddsa',
    token: withHeader({ alg: 'eddsa' }),
    code: 'TBIT_ALG_REJECTED',
    parse: true,
  },
  { name: 'alg as array', token: withHeader({ alg: ['EdDSA'] }), code: 'TBIT_ALG_REJECTED', parse: true },
  {
    name: 'alg missing',
    token: jws({ typ: 'tbit+jwt', kid: 'k' }, CLAIMS),
    code: 'TBIT_ALG_REJECTED',
    parse: true,
  },
  { name: 'crit header', token: withHeader({ crit: ['exp'] }), code: 'TBIT_HEADER_REJECTED', parse: true },
  { name: 'empty crit', token: withHeader({ crit: [] }), code: 'TBIT_HEADER_REJECTED', parse: true },
  {
    name: 'jku header',
    token: withHeader({ jku: 'https://evil.example/jwks' }),
    code: 'TBIT_HEADER_REJECTED',
    parse: true,
  },
  {
    name: 'x5u header',
    token: withHeader({ x5u: 'https://evil.example/cert' }),
    code: 'TBIT_HEADER_REJECTED',
    parse: true,
  },
  { name: 'x5c header', token: withHeader({ x5c: ['MIIB'] }), code: 'TBIT_HEADER_REJECTED', parse: true },
  {
    name: 'embedded jwk header',
    token: withHeader({ jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } }),
    code: 'TBIT_HEADER_REJECTED',
    parse: true,
  },
  { name: 'b64 false header', token: withHeader({ b64: false }), code: 'TBIT_HEADER_REJECTED', parse: true },
  {
    name: 'unknown header parameter',
    token: withHeader({ cty: 'JWT' }),
    code: 'TBIT_HEADER_REJECTED',
    parse: true,
  },
  {
    name: '__proto__ header parameter',
    token: jws(`{"__proto__":{"alg":"none"},"alg":"EdDSA","typ":"tbit+jwt","kid":"k"}`, CLAIMS),
    code: 'TBIT_HEADER_REJECTED',
    parse: true,
  },
  { name: 'typ JWT', token: withHeader({ typ: 'JWT' }), code: 'TBIT_TYP_REJECTED', parse: true },
  {
    name: 'typ missing',
    token: jws({ alg: 'EdDSA', kid: 'k' }, CLAIMS),
    code: 'TBIT_TYP_REJECTED',
    parse: true,
  },
  {
    name: 'typ at+jwt (an access token)',
    token: withHeader({ typ: 'at+jwt' }),
    code: 'TBIT_TYP_REJECTED',
    parse: true,
  },
  {
    name: 'kid missing',
    token: jws({ alg: 'EdDSA', typ: 'tbit+jwt' }, CLAIMS),
    code: 'TBIT_HEADER_REJECTED',
    parse: true,
  },
  { name: 'kid not a string', token: withHeader({ kid: 7 }), code: 'TBIT_HEADER_REJECTED', parse: true },
  // --- signature
  {
    name: 'signature 63 bytes',
    token: jws(HDR, CLAIMS, Buffer.alloc(63).toString('base64url')),
    code: 'TBIT_BAD_SIGNATURE',
    parse: true,
  },
  {
    name: 'signature 65 bytes',
    token: jws(HDR, CLAIMS, Buffer.alloc(65).toString('base64url')),
    code: 'TBIT_BAD_SIGNATURE',
    parse: true,
  },
  { name: 'well-formed but unknown kid', token: good, code: 'TBIT_UNKNOWN_KEY', parse: false },
  // --- claims shape
  {
    name: 'claims: exp is a string',
    token: withClaims({ exp: String(NOW + 60) }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: exp is a float',
    token: withClaims({ exp: NOW + 60.5 }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  { name: 'claims: exp 1e308', token: withClaims({ exp: 1e308 }), code: 'TBIT_INVALID_CLAIM', parse: true },
  { name: 'claims: negative iat', token: withClaims({ iat: -1 }), code: 'TBIT_INVALID_CLAIM', parse: true },
  {
    name: 'claims: exp before iat',
    token: withClaims({ exp: NOW - 1 }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: unknown claim',
    token: withClaims({ admin: true }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: __proto__ claim',
    token: jws(HDR, `${JSON.stringify(CLAIMS).slice(0, -1)},"__proto__":{"x":1}}`),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: missing jti',
    token: jws(HDR, { ...CLAIMS, jti: undefined }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: empty tool_scope',
    token: withClaims({ tool_scope: [] }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: tool_scope is a string',
    token: withClaims({ tool_scope: 'fs.read' }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: mid-pattern wildcard',
    token: withClaims({ tool_scope: ['fs.*.read'] }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: 65 scope entries',
    token: withClaims({ tool_scope: Array.from({ length: 65 }, (_, i) => `t${i}`) }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: sub not SPIFFE',
    token: withClaims({ sub: 'https://sigil.mesh/agent/x/1' }),
    code: 'TBIT_INVALID_SPIFFE_ID',
    parse: true,
  },
  {
    name: 'claims: sub with ..',
    token: withClaims({ sub: 'spiffe://sigil.mesh/agent/../admin' }),
    code: 'TBIT_INVALID_SPIFFE_ID',
    parse: true,
  },
  {
    name: 'claims: aud empty array',
    token: withClaims({ aud: [] }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: cnf with private d',
    token: withClaims({ cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), d: 'A'.repeat(43) } } }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: cnf RSA key',
    token: withClaims({ cnf: { jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } } }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: cnf x 31 bytes',
    token: withClaims({
      cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: Buffer.alloc(31).toString('base64url') } },
    }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  {
    name: 'claims: par not a digest',
    token: withClaims({ par: 'abc' }),
    code: 'TBIT_INVALID_CLAIM',
    parse: true,
  },
  { name: 'claims: dep 0', token: withClaims({ dep: 0 }), code: 'TBIT_INVALID_CLAIM', parse: true },
];
