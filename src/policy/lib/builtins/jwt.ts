/**
 * OPA's JWT builtins (topdown/tokens.go) as host functions: io.jwt.decode, io.jwt.verify_{rs,ps,es,hs}{256,384,512},
 * io.jwt.verify_eddsa and io.jwt.decode_verify. Compact JWS only (RFC 7515 §7.1); JWE is refused like OPA does.
 * Keys are what OPA accepts: a PEM certificate, a PEM "PUBLIC KEY", a JWK or a JWK Set (RFC 7517 §4, §5).
 * Decoding errors make the call undefined (OPA's non-strict mode); a bad signature or unmet constraint is `false`.
 */
import { constants, createSecretKey } from 'node:crypto';
import { exactJsonText } from './go-json.js';
import { type BuiltinState, type HostBuiltin, rawJson } from './host.js';
import { check, HASH, jwsScheme, keysFrom, type Scheme, type VerificationKey } from './jwt-keys.js';
import { b64urlDecode } from './pem.js';

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
