/**
 * Go's encoding/base64 (padded, non-strict) and encoding/pem decoding, which OPA's JWT and X.509 builtins use; the
 * exact acceptance rules matter because a lenient decoder would accept keys and tokens OPA refuses.
 */

/**
 * Go's base64.StdEncoding / URLEncoding DecodeString: CR and LF are skipped, padding is required and nothing may
 * follow it (RFC 4648 §4, §5); non-zero trailing bits are tolerated, as Go's non-strict mode does.
 */
export function goBase64(input: string, url: boolean): Buffer | undefined {
  const s = input.replace(/[\r\n]/g, '');
  const c = url ? 'A-Za-z0-9_-' : 'A-Za-z0-9+/';
  const re = new RegExp(`^[${c}]*(?:[${c}]{2}==|[${c}]{3}=)?$`);
  if (s.length % 4 !== 0 || !re.test(s)) return undefined;
  return Buffer.from(s, url ? 'base64url' : 'base64');
}

/** One PEM block (RFC 7468 §2) and the input after it. */
export interface PemBlock {
  type: string;
  der: Buffer;
  rest: string;
}

/** Go's getLine: the first line without trailing spaces/tabs, and what follows its line break. */
function getLine(data: string): [string, string] {
  const i = data.indexOf('\n');
  if (i < 0) return [data.replace(/[ \t]+$/, ''), ''];
  const end = i > 0 && data[i - 1] === '\r' ? i - 1 : i;
  return [data.slice(0, end).replace(/[ \t]+$/, ''), data.slice(i + 1)];
}

/**
 * Go's pem.Decode: the first well-formed block (BEGIN at the start or after a newline, optional "Key: value"
 * headers, matching END line with nothing but whitespace after it, valid base64 body); undefined when there is none.
 * Works on text whose characters are bytes (callers pass latin1-decoded input or ASCII PEM).
 */
export function pemDecode(data: string): PemBlock | undefined {
  let rest = data;
  for (;;) {
    if (rest.startsWith('-----BEGIN ')) rest = rest.slice('-----BEGIN '.length);
    else {
      const at = rest.indexOf('\n-----BEGIN ');
      if (at < 0) return undefined;
      rest = rest.slice(at + '\n-----BEGIN '.length);
    }
    let typeLine: string;
    [typeLine, rest] = getLine(rest);
    if (!typeLine.endsWith('-----')) continue;
    const type = typeLine.slice(0, -5);
    let headers = 0;
    let truncated = false;
    for (;;) {
      if (rest.length === 0) {
        truncated = true;
        break;
      }
      const [line, next] = getLine(rest);
      if (!line.includes(':')) break;
      headers++;
      rest = next;
    }
    if (truncated) return undefined;
    let endIndex: number;
    let trailerIndex: number;
    if (headers === 0 && rest.startsWith('-----END ')) {
      endIndex = 0;
      trailerIndex = '-----END '.length;
    } else {
      endIndex = rest.indexOf('\n-----END ');
      trailerIndex = endIndex + '\n-----END '.length;
    }
    if (endIndex < 0) continue;
    const trailer = rest.slice(trailerIndex, trailerIndex + type.length + 5);
    if (trailer.length < type.length + 5 || trailer !== `${type}-----`) continue;
    if (getLine(rest.slice(trailerIndex + type.length + 5))[0] !== '') continue;
    const der = goBase64(rest.slice(0, endIndex).replace(/[ \t]/g, ''), false);
    if (!der) continue;
    const after = getLine(rest.slice(trailerIndex))[1];
    return { type, der, rest: after };
  }
}

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
