/**
 * OPA's X.509 builtins (topdown/crypto.go) that SIGIL can reproduce exactly: crypto.x509.parse_rsa_private_key,
 * whose result is a JWK (RFC 7517 §4, RFC 7518 §6). The others (parse_certificates, parse_and_verify_certificates
 * [_with_options], parse_certificate_request, parse_keypair) return Go's JSON encoding of crypto/x509 structs
 * (raw DER fields, pkix.Name, Go enum numbers, url.URL, …) and stay refused at build.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { HostBuiltin } from './host.js';
import { goBase64, pemDecode } from './pem.js';

/** PEM block types OPA reads private keys from, with the DER structure each holds. */
const KEY_BLOCKS: Record<string, 'pkcs1' | 'pkcs8' | 'sec1'> = {
  'RSA PRIVATE KEY': 'pkcs1', // RFC 8017 Appendix A.1.2
  'PRIVATE KEY': 'pkcs8', // RFC 5208 §5
  'EC PRIVATE KEY': 'sec1', // RFC 5915 §3
};

/** Key kinds Go's x509 private-key parsers return and OPA's jwk.New accepts (any RSA size, NIST curves, OKP). */
function supported(k: KeyObject): boolean {
  const t = k.asymmetricKeyType;
  if (t === 'ec') {
    const c = k.asymmetricKeyDetails?.namedCurve;
    return c === 'prime256v1' || c === 'secp384r1' || c === 'secp521r1';
  }
  return t === 'rsa' || t === 'ed25519' || t === 'x25519';
}

/**
 * crypto.x509.parse_rsa_private_key: the first private key of a PEM (or base64 of PEM) text as a JWK; null when the
 * text holds no key block; undefined when any key block fails to parse (OPA parses them all first).
 */
function parseRsaPrivateKey(input: unknown): unknown {
  if (typeof input !== 'string' || input === '') return undefined;
  let text = Buffer.from(input, 'utf8').toString('latin1');
  if (!text.startsWith('-----BEGIN')) {
    const b = goBase64(text, false);
    if (!b) return undefined;
    text = b.toString('latin1');
  }
  // getPrivateKeysFromPEMData tries base64 once more on its own.
  const again = goBase64(text, false);
  if (again) text = again.toString('latin1');
  const keys: KeyObject[] = [];
  let rest = text;
  while (rest.length > 0) {
    const block = pemDecode(rest);
    if (!block) break;
    rest = block.rest;
    const type = KEY_BLOCKS[block.type];
    if (!type) continue;
    try {
      const key = createPrivateKey({ key: block.der, format: 'der', type });
      if (!supported(key)) return undefined;
      keys.push(key);
    } catch {
      return undefined;
    }
  }
  return keys[0] ? keys[0].export({ format: 'jwk' }) : null;
}

/** The X.509 builtins SIGIL provides. */
export function x509Builtins(): Record<string, HostBuiltin> {
  return { 'crypto.x509.parse_rsa_private_key': parseRsaPrivateKey };
}
