/** Header map normalisation for CheckRequests (headers map or encode_raw_headers header_map). */

import type { AttributeContext_HttpRequest as HttpRequest } from '../../../gen/envoy/service/auth/v3/attribute_context_pb.js';
import { AuthzError } from '../errors.js';
import { LIMITS } from './limits.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 9110 §5.1 field-name token, lower-cased as Envoy sends it (plus HTTP/2 pseudo-headers). */
const HEADER_NAME = /^:?[a-z0-9!#$%&'*+.^_`|~-]+$/;

interface Tally {
  out: Record<string, string>;
  count: number;
  bytes: number;
}

/** Adds one header to `t.out`, enforcing the limits. Module-level rather than a per-call closure (hot path). */
function add(t: Tally, rawKey: string, value: string): void {
  if (++t.count > LIMITS.maxHeaders) {
    throw new AuthzError('AUTHZ_HEADERS_TOO_LARGE', `more than ${LIMITS.maxHeaders} headers`);
  }
  if (rawKey.length > LIMITS.maxHeaderName || value.length > LIMITS.maxHeaderValue) {
    throw new AuthzError('AUTHZ_HEADERS_TOO_LARGE', `header ${rawKey.slice(0, 64)} is too large`);
  }
  t.bytes += rawKey.length + value.length;
  if (t.bytes > LIMITS.maxHeaderBytes) {
    throw new AuthzError('AUTHZ_HEADERS_TOO_LARGE', `headers exceed ${LIMITS.maxHeaderBytes} bytes in total`);
  }
  const key = rawKey.toLowerCase();
  if (!HEADER_NAME.test(key)) throw new AuthzError('AUTHZ_BAD_REQUEST', 'invalid header name');
  const prev = t.out[key];
  t.out[key] = prev === undefined ? value : `${prev},${value}`;
}

/**
 * Returns a null-prototype record of lower-case header name → value, merging duplicates with ','
 * (RFC 9110 §5.3). Throws AuthzError on too many / too large headers or undecodable raw values.
 */
export function normalizeHeaders(http: HttpRequest): Record<string, string> {
  const t: Tally = { out: Object.create(null) as Record<string, string>, count: 0, bytes: 0 };
  // The message comes from the generated decoder, so the map and list are typed; only their contents need checks.
  for (const key of Object.keys(http.headers)) add(t, key, http.headers[key]!);
  const list = http.headerMap?.headers ?? [];
  if (list.length > LIMITS.maxHeaders) {
    throw new AuthzError('AUTHZ_HEADERS_TOO_LARGE', `more than ${LIMITS.maxHeaders} headers`);
  }
  for (const h of list) {
    let value = h.value;
    if (h.rawValue.length > 0) {
      if (h.rawValue.length > LIMITS.maxHeaderValue) {
        throw new AuthzError('AUTHZ_HEADERS_TOO_LARGE', 'header value is too large');
      }
      try {
        value = utf8.decode(h.rawValue);
      } catch (e) {
        throw new AuthzError('AUTHZ_INVALID_ENCODING', 'header value is not valid UTF-8', e);
      }
    }
    add(t, h.key, value);
  }
  return t.out;
}
