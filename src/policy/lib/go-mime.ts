/**
 * Go's mime.ParseMediaType (RFC 2045 §5.1 media types, RFC 2183 dispositions, RFC 2231 §3–4 parameter
 * continuations and charsets) and mime/multipart's Reader.NextPart (RFC 2046 §5.1.1, with Go's leniencies:
 * LF-only lines, a preamble, quoted-printable parts decoded per RFC 2045 §6.7), as opa-envoy-plugin uses them to
 * build `parsed_body` for multipart/form-data. Everything works on byte strings (one char per byte, latin1).
 * Failures throw {@link MimeError} with Go's message, since the plugin answers 400 with it.
 */

/** A parse failure where Go returns an error. */
export class MimeError extends Error {}

const TSPECIALS = '()<>@,;:\\"/[]?=';
const isTokenChar = (c: string) => c > ' ' && c < '\x7f' && !TSPECIALS.includes(c);
// unicode.IsSpace over bytes as Go sees a string: ASCII spaces plus U+0085 and U+00A0 (as UTF-8 they are two
// bytes, never one latin1 char here, so only the ASCII ones apply).
const trimLeftSpace = (s: string) => s.replace(/^[\t\n\v\f\r ]+/, '');

function consumeToken(v: string): [string, string] {
  let i = 0;
  while (i < v.length && isTokenChar(v[i]!)) i++;
  return [v.slice(0, i), v.slice(i)];
}

function consumeValue(v: string): [string, string] {
  if (v === '') return ['', v];
  if (v[0] !== '"') return consumeToken(v);
  let out = '';
  for (let i = 1; i < v.length; i++) {
    const c = v[i]!;
    if (c === '"') return [out, v.slice(i + 1)];
    if (c === '\\' && i + 1 < v.length && TSPECIALS.includes(v[i + 1]!)) {
      out += v[++i];
      continue;
    }
    if (c === '\r' || c === '\n') return ['', v];
    out += c;
  }
  return ['', v]; // unterminated quoted-string
}

function consumeMediaParam(v: string): [string, string, string] {
  let rest = trimLeftSpace(v);
  if (!rest.startsWith(';')) return ['', '', v];
  rest = trimLeftSpace(rest.slice(1));
  let param: string;
  [param, rest] = consumeToken(rest);
  param = param.toLowerCase();
  if (param === '') return ['', '', v];
  rest = trimLeftSpace(rest);
  if (!rest.startsWith('=')) return ['', '', v];
  rest = trimLeftSpace(rest.slice(1));
  const [value, rest2] = consumeValue(rest);
  if (value === '' && rest2 === rest) return ['', '', v];
  return [param, value, rest2];
}

function percentHexUnescape(s: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return undefined;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

function decode2231Enc(v: string): string | undefined {
  const parts = v.split("'");
  if (parts.length !== 3) return undefined;
  const charset = parts[0]!.toLowerCase();
  if (charset !== 'us-ascii' && charset !== 'utf-8') return undefined;
  return percentHexUnescape(parts[2]!);
}

function checkMediaType(t: string): void {
  const [first, rest] = consumeToken(t);
  if (first === '') throw new MimeError('mime: no media type');
  if (rest === '') return;
  if (!rest.startsWith('/')) throw new MimeError('mime: expected slash after first token');
  const [sub, rest2] = consumeToken(rest.slice(1));
  if (sub === '') throw new MimeError('mime: expected token after slash');
  if (rest2 !== '') throw new MimeError('mime: unexpected content after media subtype');
}

/** Go mime.ParseMediaType: lower-cased type and parameters (null prototype). Throws {@link MimeError}. */
export function parseMediaType(v: string): { type: string; params: Record<string, string> } {
  const semi = v.indexOf(';');
  const base = semi === -1 ? v : v.slice(0, semi);
  const type = base.toLowerCase().trim();
  checkMediaType(type);
  const params: Record<string, string> = Object.create(null);
  const continuation = new Map<string, Record<string, string>>();
  let rest = v.slice(base.length);
  while (rest.length > 0) {
    rest = trimLeftSpace(rest);
    if (rest === '') break;
    const [key, value, next] = consumeMediaParam(rest);
    if (key === '') {
      if (next.trim() === ';') break; // a trailing semicolon is not an error
      throw new MimeError('mime: invalid media parameter');
    }
    let map = params;
    const star = key.indexOf('*');
    if (star !== -1) {
      const baseName = key.slice(0, star);
      map = continuation.get(baseName) ?? Object.create(null);
      continuation.set(baseName, map);
    }
    if (Object.hasOwn(map, key) && map[key] !== value) throw new MimeError('mime: duplicate parameter name');
    map[key] = value;
    rest = next;
  }
  for (const [key, pieces] of continuation) {
    const single = pieces[`${key}*`];
    if (single !== undefined) {
      const dec = decode2231Enc(single);
      if (dec !== undefined) params[key] = dec;
      continue;
    }
    let buf = '';
    let valid = false;
    for (let n = 0; ; n++) {
      const simple = pieces[`${key}*${n}`];
      if (simple !== undefined) {
        valid = true;
        buf += simple;
        continue;
      }
      const encoded = pieces[`${key}*${n}*`];
      if (encoded === undefined) break;
      valid = true;
      buf += (n === 0 ? decode2231Enc(encoded) : percentHexUnescape(encoded)) ?? '';
    }
    if (valid) params[key] = buf;
  }
  return { type, params };
}

/** One part as opa-envoy-plugin reads it: its form name (Content-Disposition), Content-Type and body bytes. */
export interface FormPart {
  name: string;
  contentType: string;
  body: string;
}

/** RFC 9110 §5.6.2 tchar (Go textproto validHeaderFieldByte). */
const HEADER_KEY = /^[!#$%&'*+\-.^_`|~0-9A-Za-z ]+$/;

/** Go textproto.CanonicalMIMEHeaderKey; a key with a space (accepted, go.dev/issue/34540) is left as is. */
const canonicalKey = (k: string) =>
  k.includes(' ') ? k : k.toLowerCase().replace(/(^|-)([a-z])/g, (_, d, c: string) => d + c.toUpperCase());

const stripEol = (line: string) => line.replace(/\r?\n$/, '');

const trimLwsp = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, '');
/** Go textproto validHeaderValueByte: HTAB, SP, VCHAR and obs-text; no other control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
const BAD_VALUE_BYTE = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Go textproto.Reader.ReadMIMEHeader over physical `lines` from `start`: the headers and the index after the
 * blank line, or `undefined` when the input ends first (Go returns io.EOF, which the plugin's loop takes as the
 * end of the parts). A final line without a newline still counts as a line (bufio.Reader.ReadLine); the first
 * physical line of a field must have a colon; continuation lines (leading SP/HTAB) are joined with one space.
 */
function readHeaders(lines: string[], start: number): [Map<string, string[]>, number] | undefined {
  const h = new Map<string, string[]>();
  let i = start;
  if (i < lines.length && /^[ \t]/.test(lines[i]!))
    throw new MimeError(`malformed MIME header initial line: ${JSON.stringify(stripEol(lines[i]!))}`);
  for (;;) {
    if (i >= lines.length) return undefined;
    const first = stripEol(lines[i++]!);
    if (first === '') return [h, i];
    if (!first.includes(':'))
      throw new MimeError(`malformed MIME header: missing colon: ${JSON.stringify(first)}`);
    let kv = trimLwsp(first);
    while (i < lines.length && /^[ \t]/.test(lines[i]!)) kv += ` ${trimLwsp(stripEol(lines[i++]!))}`;
    const colon = kv.indexOf(':');
    const key = kv.slice(0, colon);
    const rawValue = kv.slice(colon + 1);
    if (!HEADER_KEY.test(key) || BAD_VALUE_BYTE.test(rawValue))
      throw new MimeError(`malformed MIME header line: ${JSON.stringify(kv)}`);
    const ck = canonicalKey(key);
    h.set(ck, [...(h.get(ck) ?? []), rawValue.replace(/^[ \t]+/, '')]);
  }
}

const fromHex = (c: string | undefined) =>
  c !== undefined && /^[0-9A-Fa-f]$/.test(c) ? Number.parseInt(c, 16) : -1;

/** Go mime/quotedprintable.Reader over a whole part body (RFC 2045 §6.7, with Go's leniencies). */
function decodeQuotedPrintable(body: string): string {
  let out = '';
  const lines = body.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  lines.forEach((whole, idx) => {
    const atEof = idx === lines.length - 1 && !whole.endsWith('\n');
    let line = whole.replace(/[\n\r \t]+$/, '');
    if (line.endsWith('=')) {
      const stripped = whole.slice(line.length).replace(/^[ \t]+/, '');
      line = line.slice(0, -1);
      if (
        !stripped.startsWith('\n') &&
        !stripped.startsWith('\r\n') &&
        !(stripped === '' && line !== '' && atEof)
      )
        throw new MimeError(`quotedprintable: invalid bytes after =: ${JSON.stringify(stripped)}`);
    } else if (whole.endsWith('\n')) line += whole.endsWith('\r\n') ? '\r\n' : '\n';
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (c === '=') {
        const hi = fromHex(line[i + 1]);
        const lo = fromHex(line[i + 2]);
        if (hi >= 0 && lo >= 0) {
          out += String.fromCharCode(hi * 16 + lo);
          i += 2;
          continue;
        }
        if (i + 1 < line.length && line[i + 1] !== '\r' && line[i + 1] !== '\n') {
          out += '='; // not a valid escape: Go keeps the '=' literally
          continue;
        }
        throw new MimeError(i + 2 >= line.length ? 'unexpected EOF' : 'quotedprintable: invalid hex byte');
      }
      const code = c.charCodeAt(0);
      if (c !== '\t' && c !== '\r' && c !== '\n' && code < 0x80 && (code < 0x20 || code > 0x7e))
        throw new MimeError(
          `quotedprintable: invalid unescaped byte 0x${code.toString(16).padStart(2, '0')} in body`,
        );
      out += c;
    }
  });
  return out;
}

/**
 * Every part of a multipart body as Go's multipart.Reader.NextPart yields it (then io.ReadAll of the part).
 * `data` and `boundary` are byte strings. Throws {@link MimeError} where Go returns an error.
 */
export function readMultipart(data: string, boundary: string): FormPart[] {
  if (boundary === '') throw new MimeError('multipart: boundary is empty');
  const dashBoundary = `--${boundary}`;
  let nl = '\r\n';
  const parts: FormPart[] = [];
  let pos = 0;
  const restIsNl = (rest: string) => rest.replace(/^[ \t]+/, '') === nl;
  const isFinal = (line: string) =>
    line.startsWith(`${dashBoundary}--`) &&
    ['', nl].includes(line.slice(dashBoundary.length + 2).replace(/^[ \t]+/, ''));
  const isDelimiter = (line: string) => {
    if (!line.startsWith(dashBoundary)) return false;
    const rest = line.slice(dashBoundary.length).replace(/^[ \t]+/, '');
    if (parts.length === 0 && rest === '\n') nl = '\n'; // LF-only lines: a violation Go accepts
    return restIsNl(rest);
  };
  for (;;) {
    // NextPart: find the next delimiter line.
    let expectNewPart = false;
    for (;;) {
      const eol = data.indexOf('\n', pos);
      const line = eol === -1 ? data.slice(pos) : data.slice(pos, eol + 1);
      pos += line.length;
      if (eol === -1) {
        if (isFinal(line)) return parts;
        throw new MimeError('multipart: NextPart: EOF');
      }
      if (isDelimiter(line)) break;
      if (isFinal(line)) return parts;
      if (expectNewPart)
        throw new MimeError(`multipart: expecting a new Part; got line ${JSON.stringify(line)}`);
      if (parts.length === 0) continue; // preamble before the first delimiter
      if (line === nl) {
        expectNewPart = true;
        continue;
      }
      throw new MimeError(`multipart: unexpected line in Next(): ${JSON.stringify(line)}`);
    }
    // Part headers, then the body up to "\r\n--boundary" followed by LWSP, CR, LF, "--" or the end.
    const lines = data.slice(pos).match(/[^\n]*\n|[^\n]+$/g) ?? [];
    const read = readHeaders(lines, 0);
    if (read === undefined) return parts;
    const [headers, used] = read;
    pos += lines.slice(0, used).join('').length;
    const nlDash = nl + dashBoundary;
    const after = (i: number) => data[i];
    let end = -1;
    const ends = (i: number, len: number) => {
      const c = after(i + len);
      return c === undefined || ' \t\r\n'.includes(c) || (c === '-' && after(i + len + 1) === '-');
    };
    if (data.startsWith(dashBoundary, pos) && ends(pos, dashBoundary.length)) end = pos;
    for (let from = pos; end === -1; ) {
      const i = data.indexOf(nlDash, from);
      if (i === -1) throw new MimeError('unexpected EOF');
      if (ends(i, nlDash.length)) end = i;
      else from = i + 1;
    }
    let body = data.slice(pos, end);
    pos = end;
    let name = '';
    try {
      const d = parseMediaType(headers.get('Content-Disposition')?.[0] ?? '');
      if (d.type === 'form-data') name = d.params.name ?? '';
    } catch (e) {
      if (!(e instanceof MimeError)) throw e; // Go: a bad disposition has no form name
    }
    // The plugin reads (so decodes) only named parts; a nameless part's decoding errors never surface.
    const cte = headers.get('Content-Transfer-Encoding')?.[0];
    if (name !== '' && cte !== undefined && cte.toLowerCase() === 'quoted-printable')
      body = decodeQuotedPrintable(body);
    parts.push({ name, contentType: headers.get('Content-Type')?.[0] ?? '', body });
  }
}
