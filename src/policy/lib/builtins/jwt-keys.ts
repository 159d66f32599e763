/**
 * Verification keys and signature checks for OPA's JWT builtins: keys as OPA accepts them (PEM certificate, PEM
 * public key, JWK or JWK Set; RFC 7517 §4, §5) and the JWS algorithms it verifies (RFC 7518 §3).
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
import { b64urlDecode, pemDecode } from './pem.js';

type Json = Record<string, unknown>;

/** A verification key with the JWK "alg" and "kid" it came with ("" for PEM keys). */
export interface VerificationKey {
  key: KeyObject;
  alg: string;
  kid: string;
  /** A JWK with private parts: OPA's verify_* builtins reject it (not a public key type). */
  isPrivate: boolean;
}

export const ALGORITHMS = new Set([
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
export function keysFrom(text: string): VerificationKey[] | undefined {
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

export const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** How a signature is checked; `pssSalt` is Node's saltLength for RSASSA-PSS. */
export type Scheme =
  | { kind: 'rsa'; hash: string; pssSalt?: number }
  | { kind: 'ecdsa'; hash: string; exactLength: boolean }
  | { kind: 'eddsa' }
  | { kind: 'hmac'; hash: string };

/**
 * Checks a signature with one key (RFC 7518 §3). RSA keys under 1024 bits fail, as in Go 1.24+ crypto/rsa.
 * `exactLength` (jwx, used by decode_verify) requires r‖s of exactly twice the curve size.
 */
export function check(scheme: Scheme, key: KeyObject, data: Buffer, sig: Buffer): boolean {
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
export function jwsScheme(alg: string): Scheme | undefined {
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
