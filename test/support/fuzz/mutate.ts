/**
 * Mutations of a {@link FuzzInput}: byte-level (flips, inserts, deletes, splices with another input), encoding
 * (UTF-16/32 with and without BOM, gzip, string vs bytes body), JSON structure (batches, duplicate and escaped
 * member names, nesting, case-folded names) and request-level (headers, content-type, encodings, paths, token).
 * Deterministic for a given {@link Rng}.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { FuzzInput } from './input.js';

/** A small seeded PRNG (mulberry32): runs repeat for a given seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** Tool names: in scope (search, docs.*) and not. */
export const TOOLS = [
  'search',
  'delete',
  'docs.read',
  'docs.x',
  'fs.write',
  'Search',
  'search ',
  'séarch',
  '',
];

const te = new TextEncoder();

/** JSON-RPC tools/call text of `name`. */
export const callText = (name: string, id: number | string = 1, args = '{}') =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"tools/call","params":{"name":${JSON.stringify(name)},"arguments":${args}}}`;

/** Byte strings worth inserting: encodings' special bytes, JSON syntax, tokens of a call. */
const INTERESTING: Uint8Array[] = [
  [0xff],
  [0xfe],
  [0x00],
  [0xc3],
  [0xed, 0xa0, 0x80],
  [0xef, 0xbb, 0xbf],
  [0xff, 0xfe],
  [0xfe, 0xff],
  [0xff, 0xfe, 0, 0],
  [0xef, 0xbf, 0xbd],
  [0xc5, 0xbf],
  [0xe2, 0x84, 0xaa],
].map((b) => new Uint8Array(b));
const TOKENS = [
  '"',
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  ' ',
  '\n',
  '\t',
  '\u000b',
  '\u00a0',
  'NaN',
  'Infinity',
  '\\u0000',
  '\\u006e',
  '\\"',
  'null',
  '"name":"delete",',
  '"method":"tools/call",',
  '"NAME":"delete",',
  '"Method":"tools/call",',
  '"jsonrpc":"2.0",',
  'tools/call',
  callText('delete'),
  `,${callText('delete', 2)}`,
  callText('search'),
];

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** `text` in UTF-16 (`le` or big-endian), with a BOM when `bom`. */
export function utf16(text: string, le: boolean, bom = false): Uint8Array {
  const b = Buffer.from((bom ? '\uFEFF' : '') + text, 'utf16le');
  return new Uint8Array(le ? b : b.swap16());
}

/** `text` in UTF-32 (`le` or big-endian), with a BOM when `bom`. */
export function utf32(text: string, le: boolean, bom = false): Uint8Array {
  const cps = [...((bom ? '\uFEFF' : '') + text)].map((c) => c.codePointAt(0)!);
  const b = Buffer.alloc(cps.length * 4);
  for (const [i, cp] of cps.entries()) {
    if (le) b.writeUInt32LE(cp, i * 4);
    else b.writeUInt32BE(cp, i * 4);
  }
  return new Uint8Array(b);
}

type Mutator = (x: FuzzInput, r: Rng, corpus: readonly FuzzInput[]) => FuzzInput;

const bodyOf = (x: FuzzInput) => x.body ?? new Uint8Array();
const withBody = (x: FuzzInput, body: Uint8Array): FuzzInput => ({ ...x, body });
const text = (x: FuzzInput) => Buffer.from(bodyOf(x)).toString('utf8');

/** Replaces the span [a, b) of the body with `ins`. */
function splice(x: FuzzInput, a: number, b: number, ins: Uint8Array): FuzzInput {
  const body = bodyOf(x);
  return withBody(x, concat(body.subarray(0, a), ins, body.subarray(b)));
}

const pos = (x: FuzzInput, r: Rng) => r.int(bodyOf(x).length + 1);

/** A JSON text where string literals and structure are rewritten by `f` on the parsed tree (when it parses). */
function mapJson(x: FuzzInput, f: (doc: unknown, r: Rng) => unknown, r: Rng): FuzzInput {
  try {
    const out = f(JSON.parse(text(x).replace(/^\uFEFF/, '')), r);
    const spaces = r.pick([undefined, 1, '\t', '\r\n ']);
    return withBody(x, te.encode(JSON.stringify(out, null, spaces)));
  } catch {
    // Not JSON, or nested too deep for JSON.stringify's recursion.
    return x;
  }
}

const rewriteNames = (src: string, r: Rng) =>
  src.replace(/"(name|method|params|jsonrpc)"/g, (m, n: string) =>
    r.next() < 0.5
      ? m
      : `"${r.pick([
          n.replace(/a/, '\\u0061'),
          n.toUpperCase(),
          n[0]!.toUpperCase() + n.slice(1),
          n.replace(/s/, '\u017F'),
          `${n}\\u0000`,
          n.replace(/m/, '\\u006d'),
        ])}"`,
  );

const BYTE: Mutator[] = [
  // flip a bit
  (x, r) => {
    const b = new Uint8Array(bodyOf(x));
    if (b.length === 0) return x;
    b[r.int(b.length)]! ^= 1 << r.int(8);
    return withBody(x, b);
  },
  // insert an interesting byte string
  (x, r) => {
    const p = pos(x, r);
    return splice(x, p, p, r.pick(INTERESTING));
  },
  // insert a JSON token
  (x, r) => {
    const p = pos(x, r);
    return splice(x, p, p, te.encode(r.pick(TOKENS)));
  },
  // delete a span
  (x, r) => {
    const a = pos(x, r);
    return splice(x, a, Math.min(bodyOf(x).length, a + 1 + r.int(16)), new Uint8Array());
  },
  // duplicate a span
  (x, r) => {
    const b = bodyOf(x);
    const a = pos(x, r);
    const e = Math.min(b.length, a + 1 + r.int(64));
    return splice(x, e, e, b.slice(a, e));
  },
  // splice with another input's body
  (x, r, corpus) => {
    const o = bodyOf(r.pick(corpus));
    const a = r.int(o.length + 1);
    const p = pos(x, r);
    return splice(x, p, r.next() < 0.5 ? p : bodyOf(x).length, o.subarray(a, a + r.int(o.length - a + 1)));
  },
  // truncate
  (x, r) => withBody(x, bodyOf(x).subarray(0, pos(x, r))),
  // pad with whitespace before and after
  (x, r) => {
    const ws = te.encode(r.pick([' ', '\n', '\r\n\t', '\u00a0', '\u3000']).repeat(1 + r.int(64)));
    return withBody(x, r.next() < 0.5 ? concat(ws, bodyOf(x)) : concat(bodyOf(x), ws));
  },
];

const ENCODING: Mutator[] = [
  (x, r) => withBody(x, utf16(text(x), r.next() < 0.5, r.next() < 0.6)),
  (x, r) => withBody(x, utf32(text(x), r.next() < 0.5, r.next() < 0.6)),
  (x) => withBody(x, concat(new Uint8Array([0xef, 0xbb, 0xbf]), bodyOf(x))),
  (x) => ({ ...x, asString: !x.asString }),
  (x, r) => {
    const [name, pack] = r.pick([
      ['gzip', gzipSync],
      ['x-gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ] as const);
    return {
      ...withBody(x, new Uint8Array(pack(bodyOf(x)))),
      headers: {
        ...x.headers,
        'content-encoding': r.pick([name, name.toUpperCase(), ` ${name}`, `identity, ${name}`]),
      },
    };
  },
];

const STRUCTURE: Mutator[] = [
  // batch with another call
  (x, r) =>
    mapJson(
      x,
      (d) => {
        const more = JSON.parse(callText(r.pick(TOOLS), 7));
        return Array.isArray(d) ? [...d, more] : [d, more];
      },
      r,
    ),
  // rename the tool
  (x, r) =>
    withBody(
      x,
      te.encode(text(x).replace(/"name"\s*:\s*"[^"]*"/, `"name":${JSON.stringify(r.pick(TOOLS))}`)),
    ),
  // duplicate the name member
  (x, r) =>
    withBody(x, te.encode(text(x).replace(/"name"\s*:/, `"name":${JSON.stringify(r.pick(TOOLS))},"name":`))),
  // escape, case-fold or NUL-suffix member names
  (x, r) => withBody(x, te.encode(rewriteNames(text(x), r))),
  // nest the arguments deeply
  (x, r) => {
    const d = r.pick([8, 63, 64, 65, 200, 5000]);
    return withBody(
      x,
      te.encode(text(x).replace('"arguments":{}', `"arguments":${'['.repeat(d)}${']'.repeat(d)}`)),
    );
  },
  // many members or containers
  (x, r) => {
    const n = r.pick([10, 1000, 20_000, 60_000]);
    const unit = r.pick(['{},', '[],', '"k":1,', '"\\u0061":[],']);
    const inner = unit.startsWith('"') ? `{${unit.repeat(n)}"z":0}` : `[${unit.repeat(n)}0]`;
    return withBody(x, te.encode(text(x).replace('"arguments":{}', `"arguments":${inner}`)));
  },
  // drop or change jsonrpc / method
  (x, r) =>
    withBody(
      x,
      te.encode(
        text(x).replace(
          r.next() < 0.5 ? /"jsonrpc"\s*:\s*"2\.0",?/ : /"method"\s*:\s*"tools\/call"/,
          r.pick([
            '',
            '"jsonrpc":"1.0",',
            '"method":"tools\\/call"',
            '"method":"tools/list"',
            '"method":["tools/call"]',
          ]),
        ),
      ),
    ),
  // a big batch
  (x, r) => {
    const n = r.pick([99, 100, 101, 3000]);
    return withBody(
      x,
      te.encode(`[${Array.from({ length: n }, (_, i) => callText('search', i)).join(',')}]`),
    );
  },
];

const CONTENT_TYPES = [
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=utf-16le',
  'application/json; charset=UTF-16BE',
  'application/json; charset=utf-32',
  'application/json; charset="latin1"',
  'application/json; charset=utf-7',
  'application/vnd.api+json',
  'text/plain',
  'text/plain; x=application/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
];
const PATHS = [
  '/mcp',
  '/mcp?x=1',
  '/tools/search',
  '/tools/delete',
  '/tools/docs.read',
  '/tools/%73earch',
  '/tools/delete;v=1',
  '/tools/search%3Bx',
  '/tools/docs.%2A',
  '/tools/%E2%84%AAey',
  '/upload',
  '/health',
  '//admin',
  '/a/../tools/delete',
  '/tools/./search',
  '/tools/%2e%2e/delete',
  '/tools/a%2fb',
  '/mcp#frag',
  'mcp',
];

function setHeader(x: FuzzInput, k: string, v: string | undefined): FuzzInput {
  const headers = { ...x.headers };
  if (v === undefined) delete headers[k];
  else headers[k] = v;
  return { ...x, headers };
}

const REQUEST: Mutator[] = [
  (x, r) => setHeader(x, 'content-type', r.pick(CONTENT_TYPES)),
  (x, r) => setHeader(x, 'x-sigil-tool', r.pick([undefined, ...TOOLS, 'search,delete', ' search'])),
  (x, r) => setHeader(x, 'content-encoding', r.pick([undefined, 'identity', 'gzip', 'br', 'IDENTITY', ''])),
  (x, r) => setHeader(x, 'transfer-encoding', r.pick([undefined, 'chunked', 'gzip, chunked', 'identity'])),
  (x, r) => {
    const n = bodyOf(x).length;
    return setHeader(
      x,
      'content-length',
      r.pick([undefined, String(n), String(n + 1), String(n - 1), '-1', 'abc', '1e3']),
    );
  },
  (x, r) => setHeader(x, 'x-envoy-auth-partial-body', r.pick([undefined, 'true', 'false', 'TRUE'])),
  (x, r) => setHeader(x, 'x-sigil-receipt', r.pick([undefined, 'fake', 'index=0; leaf=00'])),
  (x, r) => setHeader(x, `x-pad-${r.int(4)}`, 'v'.repeat(r.pick([1, 1000, 65_536, 70_000]))),
  (x, r) => {
    const n = r.pick([50, 999, 1001]);
    const headers = { ...x.headers };
    for (let i = 0; i < n; i++) headers[`x-h${i}`] = 'v';
    return { ...x, headers };
  },
  (x, r) => ({ ...x, path: r.pick(PATHS) }),
  (x, r) => ({ ...x, method: r.pick(['POST', 'GET', 'PUT', 'post', 'HEAD']) }),
  (x, r) => ({ ...x, token: r.pick(['scoped', 'scoped', 'none', 'garbage'] as const) }),
];

const GROUPS: Array<[number, Mutator[]]> = [
  [5, BYTE],
  [2, ENCODING],
  [3, STRUCTURE],
  [3, REQUEST],
];
const WEIGHT = GROUPS.reduce((s, [w]) => s + w, 0);

/** One to four stacked mutations of `x`; `corpus` provides splice partners. */
export function mutate(x: FuzzInput, r: Rng, corpus: readonly FuzzInput[]): FuzzInput {
  let out = x;
  for (let n = 1 + r.int(4); n > 0; n--) {
    let w = r.int(WEIGHT);
    for (const [weight, group] of GROUPS) {
      if (w < weight) {
        out = r.pick(group)(out, r, corpus);
        break;
      }
      w -= weight;
    }
  }
  return out;
}
