/**
 * OPA's JWT builtins (topdown/tokens.go) as host functions: io.jwt.decode, io.jwt.verify_{rs,ps,es,hs}{256,384,512},
 * io.jwt.verify_eddsa and io.jwt.decode_verify. Compact JWS only (RFC 7515 §7.1); JWE is refused like OPA does.
 * Keys are what OPA accepts: a PEM certificate, a PEM "PUBLIC KEY", a JWK or a JWK Set (RFC 7517 §4, §5).
 * Decoding errors make the call undefined (OPA's non-strict mode); a bad signature or unmet constraint is `false`.
 */
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  type KeyObject,
  timingSafeEqual,
  verify,
  X509Certificate,
} from 'node:crypto';
import { exactJsonText } from './go-json.js';
import { type BuiltinState, type HostBuiltin, rawJson } from './host.js';
import { goBase64, pemDecode } from './pem.js';

/**
 * OPA's base64url.decode: unpadded input is padded per RFC 7515 Appendix C (length ≡ 1 mod 4 is an error), then
 * decoded with Go's base64.URLEncoding, which requires correct padding, allows no data after it and skips CR/LF.
 */
export function b64urlDecode(input: string): Buffer | undefined {
  let s = input;
  if (!s.endsWith('=')) {
    if (s.length % 4 === 1) return undefined;
    s += '='.repeat((4 - (s.length % 4)) % 4);
  }
  return goBase64(s, true);
}

type Json = Record<string, unknown>;

/** Exact JSON text (see go-json.ts) of each decoded header/claims object, for returning it to Wasm unrounded. */
const exactText = new WeakMap<object, string>();

/** The JSON object in `b`, read as Go's json.Unmarshal reads it (last duplicate key wins, as in JS), else undefined. */
function jsonObject(b: Buffer | undefined): Json | undefined {
  const text = b && exactJsonText(b.toString('latin1'));
  if (text === undefined) return undefined;
  const v: unknown = JSON.parse(text);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  exactText.set(v, text);
  return v as Json;
}

/** A result array as raw JSON, with decoded objects in their exact text (integers beyond 2^53 intact). */
const exactResult = (items: unknown[]) =>
  rawJson(
    `[${items.map((x) => (typeof x === 'object' && x !== null && exactText.get(x)) || JSON.stringify(x)).join(',')}]`,
  );

/** The three base64url parts of a compact JWS (OPA: a string with a '.', split into exactly 3). */
interface Token {
  header: string;
  payload: string;
  signature: string;
}

function split(jwt: unknown): Token | undefined {
  if (typeof jwt !== 'string' || !jwt.includes('.')) return undefined;
  const parts = jwt.split('.');
  return parts.length === 3 ? { header: parts[0]!, payload: parts[1]!, signature: parts[2]! } : undefined;
}

/** The decoded JOSE header; JWE headers (with "enc", RFC 7516 §9) are refused. */
function decodeHeader(t: Token): Json | undefined {
  const h = jsonObject(b64urlDecode(t.header));
  return h && !('enc' in h) ? h : undefined;
}

/** The header parameters OPA reads; undefined when one has the wrong type. */
interface Header {
  alg: string;
  kid: string;
  cty: string;
  valid: boolean;
}

function parseHeader(h: Json): Header | undefined {
  const out = { alg: '', kid: '', cty: '' };
  for (const k of ['alg', 'kid', 'typ', 'cty'] as const) {
    if (!(k in h)) continue;
    if (typeof h[k] !== 'string') return undefined;
    if (k !== 'typ') out[k] = h[k] as string;
  }
  let crit = new Set<string>();
  if ('crit' in h) {
    if (!Array.isArray(h.crit)) return undefined;
    // OPA stops at the first non-string entry without failing; an empty result is an error (RFC 7515 §4.1.11).
    const strings: string[] = [];
    for (const c of h.crit) {
      if (typeof c !== 'string') break;
      strings.push(c);
    }
    crit = new Set(strings);
    if (crit.size === 0) return undefined;
  }
  const known = new Set(['alg', 'kid', 'typ', 'cty', 'crit']);
  // RFC 7515 §4.1.1: alg is required; §4.1.11: an unrecognised critical parameter makes the JWS invalid.
  const valid = out.alg !== '' && !Object.keys(h).some((k) => !known.has(k) && crit.has(k));
  return { ...out, valid };
}

/** A verification key with the JWK "alg" and "kid" it came with ("" for PEM keys). */
interface VerificationKey {
  key: KeyObject;
  alg: string;
  kid: string;
  /** A JWK with private parts: OPA's verify_* builtins reject it (not a public key type). */
  isPrivate: boolean;
}

const ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'HS256',
  'HS384',
  'HS512',
  'EdDSA',
]);

/** The JWA algorithm names jwx accepts as a JWK "alg" (RFC 7518 §3.1 and §4.1, plus ES256K and Ed25519/Ed448). */
const JWA_ALGORITHMS = new Set([
  ...ALGORITHMS,
  'ES256K',
  'Ed25519',
  'Ed448',
  'none',
  'RSA1_5',
  'RSA-OAEP',
  'RSA-OAEP-256',
  'RSA-OAEP-384',
  'RSA-OAEP-512',
  'A128KW',
  'A192KW',
  'A256KW',
  'dir',
  'ECDH-ES',
  'ECDH-ES+A128KW',
  'ECDH-ES+A192KW',
  'ECDH-ES+A256KW',
  'A128GCMKW',
  'A192GCMKW',
  'A256GCMKW',
  'PBES2-HS256+A128KW',
  'PBES2-HS384+A192KW',
  'PBES2-HS512+A256KW',
]);

/** Key types Go's x509.ParsePKIXPublicKey returns (RSA with rsaEncryption, NIST curves, Ed25519, X25519, DSA). */
function goParsable(k: KeyObject): boolean {
  const t = k.asymmetricKeyType;
  if (t === 'ec') {
    const c = k.asymmetricKeyDetails?.namedCurve;
    return c === 'prime256v1' || c === 'secp384r1' || c === 'secp521r1' || c === 'secp224r1';
  }
  return t === 'rsa' || t === 'ed25519' || t === 'x25519' || t === 'dsa';
}

/**
 * The public half of a private JWK, if Go would import it: the private scalar must have the curve's size and the
 * public parameters given must be the ones it derives (Go 1.25 crypto/ecdsa checks both).
 */
function privateJwkPublicKey(jwk: Json): KeyObject | undefined {
  const pub = createPublicKey(createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' }));
  const derived = pub.export({ format: 'jwk' }) as Json;
  if (jwk.kty === 'EC') {
    const size = b64urlDecode(String(derived.x))?.length;
    if (b64urlDecode(String(jwk.d))?.length !== size || derived.x !== jwk.x || derived.y !== jwk.y)
      return undefined;
  }
  return pub;
}

/** OPA's getKeysFromCertOrJWK; undefined where OPA errors. */
function keysFrom(text: string): VerificationKey[] | undefined {
  const block = pemDecode(Buffer.from(text, 'utf8').toString('latin1'));
  if (block) {
    if (block.rest.length > 0) return undefined; // "extra data after a PEM certificate block"
    try {
      const key =
        block.type === 'CERTIFICATE'
          ? new X509Certificate(block.der).publicKey
          : block.type === 'PUBLIC KEY'
            ? createPublicKey({ key: block.der, format: 'der', type: 'spki' })
            : undefined;
      if (!key || (block.type === 'PUBLIC KEY' && !goParsable(key))) return undefined;
      return [{ key, alg: '', kid: '', isPrivate: false }];
    } catch {
      return undefined;
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const set = parsed as Json;
  const jwks = 'keys' in set ? set.keys : [set];
  if (!Array.isArray(jwks)) return undefined;
  const out: VerificationKey[] = [];
  for (const j of jwks) {
    if (typeof j !== 'object' || j === null || Array.isArray(j)) return undefined;
    const jwk = j as Json;
    if (typeof jwk.kty !== 'string') return undefined;
    let key: KeyObject | undefined;
    try {
      key =
        jwk.kty === 'oct'
          ? createSecretKey(b64urlDecode(String(jwk.k ?? '')) ?? Buffer.alloc(0))
          : 'd' in jwk
            ? privateJwkPublicKey(jwk)
            : createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      return undefined;
    }
    if (!key) return undefined;
    const alg = typeof jwk.alg === 'string' ? jwk.alg : '';
    // jwx refuses an "alg" outside the JWA registry (RFC 7518 §3.1, §4.1); OPA then skips keys for JWA algorithms
    // it does not verify with (e.g. RSA-OAEP).
    if ('alg' in jwk && !JWA_ALGORITHMS.has(alg)) return undefined;
    if (alg !== '' && !ALGORITHMS.has(alg)) continue;
    out.push({ key, alg, kid: typeof jwk.kid === 'string' ? jwk.kid : '', isPrivate: 'd' in jwk });
  }
  return out;
}

/** Unsigned big-endian integer → DER INTEGER (X.690 §8.3). */
function derInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v.length === 0) v = Buffer.from([0]);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02]), derLen(v.length), v]);
}

function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x >>= 8) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** r‖s split in two halves (OPA's verify_es* accepts any length) as a DER ECDSA-Sig-Value (RFC 3279 §2.2.3). */
function ecdsaDer(sig: Buffer): Buffer {
  const n = Math.floor(sig.length / 2);
  const body = Buffer.concat([derInt(sig.subarray(0, n)), derInt(sig.subarray(n))]);
  return Buffer.concat([Buffer.from([0x30]), derLen(body.length), body]);
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** How a signature is checked; `pssSalt` is Node's saltLength for RSASSA-PSS. */
type Scheme =
  | { kind: 'rsa'; hash: string; pssSalt?: number }
  | { kind: 'ecdsa'; hash: string; exactLength: boolean }
  | { kind: 'eddsa' }
  | { kind: 'hmac'; hash: string };

/**
 * Checks a signature with one key (RFC 7518 §3). RSA keys under 1024 bits fail, as in Go 1.24+ crypto/rsa.
 * `exactLength` (jwx, used by decode_verify) requires r‖s of exactly twice the curve size.
 */
function check(scheme: Scheme, key: KeyObject, data: Buffer, sig: Buffer): boolean {
  try {
    switch (scheme.kind) {
      case 'hmac': {
        if (key.type !== 'secret') return false;
        const mac = createHmac(scheme.hash, key).update(data).digest();
        return mac.length === sig.length && timingSafeEqual(mac, sig);
      }
      case 'rsa': {
        if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 1024)
          return false;
        const opts =
          scheme.pssSalt === undefined
            ? { key, padding: constants.RSA_PKCS1_PADDING }
            : { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.pssSalt };
        return verify(scheme.hash, data, opts, sig);
      }
      case 'ecdsa': {
        if (key.asymmetricKeyType !== 'ec') return false;
        if (scheme.exactLength) {
          const bits = { prime256v1: 256, secp384r1: 384, secp521r1: 521, secp224r1: 224 }[
            key.asymmetricKeyDetails?.namedCurve ?? ''
          ];
          if (bits === undefined || sig.length !== 2 * Math.ceil(bits / 8)) return false;
        }
        return verify(scheme.hash, data, { key, dsaEncoding: 'der' }, ecdsaDer(sig));
      }
      case 'eddsa':
        return key.asymmetricKeyType === 'ed25519' && sig.length === 64 && verify(null, data, key, sig);
    }
  } catch {
    return false;
  }
}

/** The scheme of a JWS "alg" as jwx (decode_verify) applies it; undefined for algorithms it refuses. */
function jwsScheme(alg: string): Scheme | undefined {
  if (!ALGORITHMS.has(alg)) return undefined;
  if (alg === 'EdDSA') return { kind: 'eddsa' };
  const hash = HASH[alg.slice(2)]!;
  switch (alg.slice(0, 2)) {
    case 'HS':
      return { kind: 'hmac', hash };
    case 'RS':
      return { kind: 'rsa', hash };
    case 'PS':
      return { kind: 'rsa', hash, pssSalt: Number(alg.slice(2)) / 8 }; // jwx: salt length = hash length
    default:
      return { kind: 'ecdsa', hash, exactLength: true };
  }
}

const signingInput = (t: Token) => Buffer.from(`${t.header}.${t.payload}`, 'utf8');

/** io.jwt.verify_{rs,ps,es}*, verify_eddsa: OPA's builtinJWTVerify. */
function verifyAsymmetric(scheme: Scheme) {
  return (jwt: unknown, keyText: unknown): boolean | undefined => {
    const t = split(jwt);
    if (!t || typeof keyText !== 'string') return undefined;
    const keys = keysFrom(keyText);
    const sig = b64urlDecode(t.signature);
    const raw = keys && sig && decodeHeader(t);
    const header = raw && parseHeader(raw);
    if (!keys || !sig || !header) return undefined;
    const ok = (k: VerificationKey) => !k.isPrivate && check(scheme, k.key, signingInput(t), sig);
    // A matching kid selects exactly one key; otherwise every key whose alg (if any) matches the header's is tried.
    const byKid = header.kid === '' ? undefined : keys.find((k) => k.kid === header.kid);
    if (byKid) return ok(byKid);
    return keys.some((k) => (k.alg === '' || k.alg === header.alg) && ok(k));
  };
}

/** io.jwt.verify_hs*: HMAC over the signing input with the secret's UTF-8 bytes; the header is not read. */
function verifyHmac(hash: string) {
  return (jwt: unknown, secret: unknown): boolean | undefined => {
    const t = split(jwt);
    if (!t || typeof secret !== 'string') return undefined;
    const sig = b64urlDecode(t.signature);
    if (!sig) return undefined;
    return check({ kind: 'hmac', hash }, createSecretKey(Buffer.from(secret, 'utf8')), signingInput(t), sig);
  };
}

/** io.jwt.decode: [header, payload, signature as hex], following `cty: "JWT"` nesting (RFC 7519 §5.2). */
function decode(jwt: unknown): unknown {
  const t = split(jwt);
  const header = t && decodeHeader(t);
  const payload = t && b64urlDecode(t.payload);
  if (!t || !header || !payload) return undefined;
  const cty = header.cty;
  if (cty !== undefined) {
    if (typeof cty !== 'string') return undefined;
    // A nested token is the payload with surrounding quotes trimmed (jwt.io quotes it).
    if (cty === 'JWT') return decode(payload.toString('utf8').replace(/^["']+|["']+$/g, ''));
  }
  const claims = jsonObject(payload);
  const sig = b64urlDecode(t.signature);
  return claims && sig ? exactResult([header, claims, sig.toString('hex')]) : undefined;
}

/** io.jwt.decode_verify constraints (OPA's tokenConstraints); undefined when OPA errors. */
interface Constraints {
  keys?: VerificationKey[];
  secret: string;
  alg: string;
  iss: string;
  aud: string;
  /** Nanoseconds (float64, as OPA keeps it). */
  time: number;
}

function parseConstraints(c: unknown, nowNs: bigint): Constraints | undefined {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return undefined;
  const out: Constraints = { secret: '', alg: '', iss: '', aud: '', time: -1 };
  for (const [k, v] of Object.entries(c)) {
    if (k === 'cert') {
      if (typeof v !== 'string') return undefined;
      out.keys = keysFrom(v);
      if (!out.keys) return undefined;
    } else if (k === 'secret' || k === 'alg' || k === 'iss' || k === 'aud') {
      if (typeof v !== 'string') return undefined;
      out[k] = v;
    } else if (k === 'time') {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return undefined;
      out.time = v;
    } else return undefined; // "unknown token validation constraint"
  }
  if (out.time === -1) out.time = Number(nowNs);
  // Exactly one key constraint ("duplicate key constraints" / "no key constraint").
  if ((out.keys ? 1 : 0) + (out.secret !== '' ? 1 : 0) !== 1) return undefined;
  return out;
}

/** decode_verify's signature check: jwx's Verify with the header's alg (errors count as "not verified"). */
function verifyWith(c: Constraints, header: Header, t: Token, sig: Buffer): boolean {
  const scheme = jwsScheme(header.alg);
  if (!scheme) return false;
  const data = signingInput(t);
  if (c.keys) {
    const byKid = header.kid === '' ? undefined : c.keys.find((k) => k.kid === header.kid);
    if (byKid) return check(scheme, byKid.key, data, sig);
    return c.keys.some((k) => (k.alg === '' || k.alg === header.alg) && check(scheme, k.key, data, sig));
  }
  return check(scheme, createSecretKey(Buffer.from(c.secret, 'utf8')), data, sig);
}

/**
 * io.jwt.decode_verify: [valid, header, payload] (RFC 7519 §7.2). Invalid signature or unmet iss/aud/exp/nbf
 * constraint → [false, {}, {}]; exp must be after and nbf not after the constraint time (seconds as float64).
 */
function decodeVerify(state: BuiltinState) {
  return (jwt: unknown, constraints: unknown): unknown => {
    const unverified = [false, {}, {}];
    const c = parseConstraints(constraints, state.nowNs);
    if (!c) return undefined;
    let token: unknown = jwt;
    let header: Json;
    let payloadBytes: Buffer;
    for (;;) {
      const t = split(token);
      const h = t && decodeHeader(t);
      const parsed = h && parseHeader(h);
      if (!t || !h || !parsed) return undefined;
      if (!parsed.valid) return unverified;
      if (c.alg !== '' && c.alg !== parsed.alg) return unverified;
      const sig = b64urlDecode(t.signature);
      if (!sig) return undefined;
      if (!verifyWith(c, parsed, t, sig)) return unverified;
      const p = b64urlDecode(t.payload);
      if (!p) return undefined;
      header = h;
      payloadBytes = p;
      if (parsed.cty.toLowerCase() !== 'jwt') break;
      token = p.toString('utf8'); // nested JWT: verify the inner token with the same constraints
    }
    const payload = jsonObject(payloadBytes);
    if (!payload) return undefined;
    if (c.iss !== '') {
      if (!('iss' in payload)) return unverified;
      if (typeof payload.iss !== 'string') return undefined;
      if (payload.iss !== c.iss) return unverified;
    }
    if ('aud' in payload) {
      const aud = payload.aud;
      const ok = typeof aud === 'string' ? aud === c.aud : Array.isArray(aud) && aud.some((a) => a === c.aud);
      if (!ok) return unverified;
    } else if (c.aud !== '') return unverified;
    const nowS = c.time / 1e9;
    if ('exp' in payload) {
      if (typeof payload.exp !== 'number') return undefined;
      if (nowS >= payload.exp) return unverified;
    }
    if ('nbf' in payload) {
      if (typeof payload.nbf !== 'number') return undefined;
      if (nowS < payload.nbf) return unverified;
    }
    return exactResult([true, header, payload]);
  };
}

/** The JWT builtins, bound to the per-evaluation state (decode_verify's default time is time.now_ns()). */
export function jwtBuiltins(state: BuiltinState): Record<string, HostBuiltin> {
  const out: Record<string, HostBuiltin> = {
    'io.jwt.decode': decode,
    'io.jwt.decode_verify': decodeVerify(state),
    'io.jwt.verify_eddsa': verifyAsymmetric({ kind: 'eddsa' }),
  };
  for (const bits of ['256', '384', '512']) {
    const hash = HASH[bits]!;
    out[`io.jwt.verify_rs${bits}`] = verifyAsymmetric({ kind: 'rsa', hash });
    // Go's rsa.VerifyPSS with nil options: salt length detected from the signature.
    out[`io.jwt.verify_ps${bits}`] = verifyAsymmetric({
      kind: 'rsa',
      hash,
      pssSalt: constants.RSA_PSS_SALTLEN_AUTO,
    });
    out[`io.jwt.verify_es${bits}`] = verifyAsymmetric({ kind: 'ecdsa', hash, exactLength: false });
    out[`io.jwt.verify_hs${bits}`] = verifyHmac(hash);
  }
  return out;
}
