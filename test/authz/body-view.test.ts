/**
 * One canonical view of the tool call (issue #18 items 1, 2, 3, 7): every body a lenient upstream would
 * read as a tools/call of X is checked as X or refused, and what SIGIL cannot inspect is refused with a
 * stable code. Scope is [search] and the tool header says `search` throughout, so any allow of another
 * tool would be the wrong allow the issue found.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { checkRequest, deniedOf, okOf, type RequestParts } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

const clock = frozenClock(1_767_225_600_000);
const id = testIdentity(clock);
const config = loadConfig({
  env: {},
  overrides: {
    agent: { spiffe_id: agentId('local') },
    authz: { routes: [{ method: 'POST', path: '/upload', tool: 'search' }] },
  },
});
const { check } = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock });
const token = id.mint({ scope: ['search'] }).token;

/** "allow" or the deny's [status, code]. */
async function verdict(p: RequestParts): Promise<'allow' | [number, string]> {
  const res: CheckResponse = await check(
    checkRequest({ ...p, headers: { 'x-sigil-tool': 'search', ...p.headers } }, token),
  );
  if (okOf(res)) return 'allow';
  const d = deniedOf(res)!;
  return [Number(d.status!.code), String((JSON.parse(d.body) as { code: string }).code)];
}

const call = (name: string, note = 'x') =>
  `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"${name}","arguments":{"note":"${note}"}}}`;
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();
const utf32 = (s: string, le: boolean) => {
  const cps = [...s].map((ch) => ch.codePointAt(0)!);
  const out = Buffer.alloc(cps.length * 4);
  for (const [i, cp] of cps.entries()) {
    if (le) out.writeUInt32LE(cp, i * 4);
    else out.writeUInt32BE(cp, i * 4);
  }
  return out;
};
const BOM16LE = Buffer.from([0xff, 0xfe]);
const BOM16BE = Buffer.from([0xfe, 0xff]);
const withFF = (name: string) =>
  Buffer.concat([Buffer.from(call(name, '').slice(0, -4)), Buffer.from([0xff]), Buffer.from('"}}}')]);

type Case = [string, RequestParts, 'allow' | [number, string]];
const NOT_IN_SCOPE: [number, string] = [403, 'AUTHZ_TOOL_NOT_IN_SCOPE'];
const BAD_BYTES: [number, string] = [400, 'AUTHZ_INVALID_ENCODING'];
const PARTIAL: [number, string] = [413, 'AUTHZ_BODY_PARTIAL'];
const ENCODED: [number, string] = [415, 'AUTHZ_UNSUPPORTED_ENCODING'];
const DEEP: [number, string] = [400, 'AUTHZ_BODY_TOO_DEEP'];
const COMPLEX: [number, string] = [400, 'AUTHZ_BODY_TOO_COMPLEX'];
const INVALID: [number, string] = [400, 'AUTHZ_BODY_INVALID'];
const ws = ' '.repeat(1 << 20);

const CASES: Case[] = [
  ['in-scope call, header agrees', { body: call('search') }, 'allow'],
  ['header search, body delete (valid UTF-8)', { body: call('delete') }, NOT_IN_SCOPE],
  ['batch with one out-of-scope call', { body: `[${call('search')},${call('delete')}]` }, NOT_IN_SCOPE],
  // Item 1: the exact repro — invalid UTF-8, no content-type.
  ['#18.1 \\xff in a string, no content-type', { rawBody: withFF('delete') }, BAD_BYTES],
  [
    '#18.1 \\xff in a string, text/plain',
    { rawBody: withFF('delete'), headers: { 'content-type': 'text/plain' } },
    BAD_BYTES,
  ],
  [
    '#18.1 \\xff before the value',
    { rawBody: Buffer.concat([Buffer.from([0xff]), Buffer.from(call('delete'))]) },
    BAD_BYTES,
  ],
  // Item 7: Envoy without pack_as_bytes already replaced the byte.
  ['#18.7 string body with U+FFFD', { body: call('delete', '\uFFFD') }, BAD_BYTES],
  [
    '#18.7 UTF-16LE+BOM mangled into a string body',
    { body: Buffer.concat([BOM16LE, Buffer.from(call('delete'), 'utf16le')]).toString() },
    BAD_BYTES,
  ],
  [
    'binary upload (no JSON reading) passes on the route tool',
    { path: '/upload', rawBody: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0x00, 0x7b]) },
    'allow',
  ],
  // Item 2: other encodings are decoded and checked.
  [
    '#18.2 UTF-16LE with BOM, no content-type',
    { rawBody: Buffer.concat([BOM16LE, Buffer.from(call('delete'), 'utf16le')]) },
    NOT_IN_SCOPE,
  ],
  [
    'UTF-16LE with BOM, in scope',
    { rawBody: Buffer.concat([BOM16LE, Buffer.from(call('search'), 'utf16le')]) },
    'allow',
  ],
  ['UTF-16BE with BOM', { rawBody: Buffer.concat([BOM16BE, utf16be(call('delete'))]) }, NOT_IN_SCOPE],
  [
    'UTF-16LE without BOM (RFC 8259 / Python detection)',
    { rawBody: Buffer.from(call('delete'), 'utf16le') },
    NOT_IN_SCOPE,
  ],
  ['UTF-32LE with BOM', { rawBody: utf32(`\uFEFF${call('delete')}`, true) }, NOT_IN_SCOPE],
  ['UTF-32BE without BOM', { rawBody: utf32(call('delete'), false) }, NOT_IN_SCOPE],
  ['UTF-8 BOM', { rawBody: Buffer.from(`\uFEFF${call('delete')}`) }, NOT_IN_SCOPE],
  [
    'charset=utf-16le without BOM',
    {
      rawBody: Buffer.from(call('delete'), 'utf16le'),
      headers: { 'content-type': 'application/json; charset=utf-16le' },
    },
    NOT_IN_SCOPE,
  ],
  [
    'charset=utf-7 cannot be decoded',
    { body: call('search'), headers: { 'content-type': 'application/json; charset=utf-7' } },
    ENCODED,
  ],
  [
    '#18.2 Content-Encoding: gzip',
    { rawBody: gzipSync(call('delete')), headers: { 'content-encoding': 'gzip' } },
    ENCODED,
  ],
  [
    'Transfer-Encoding: gzip, chunked',
    { body: call('search'), headers: { 'transfer-encoding': 'gzip, chunked' } },
    ENCODED,
  ],
  [
    'Transfer-Encoding: chunked is plain',
    { body: call('search'), headers: { 'transfer-encoding': 'chunked' } },
    'allow',
  ],
  [
    'Content-Encoding: identity is plain',
    { body: call('search'), headers: { 'content-encoding': 'identity' } },
    'allow',
  ],
  // Item 2: truncated bodies.
  [
    '#18.2 1 MiB of whitespace cut by Envoy',
    { body: ws, headers: { 'x-envoy-auth-partial-body': 'true' } },
    PARTIAL,
  ],
  [
    'partial JSON prefix',
    { body: call('search').slice(0, 40), headers: { 'x-envoy-auth-partial-body': 'true' } },
    PARTIAL,
  ],
  [
    'content-length larger than the body',
    { body: `   ${call('search')}`, headers: { 'content-length': '999999' } },
    PARTIAL,
  ],
  ['content-length without a body (Envoy sent none)', { headers: { 'content-length': '120' } }, PARTIAL],
  ['partial flag without a body', { headers: { 'x-envoy-auth-partial-body': 'true' } }, PARTIAL],
  ['content-length: 0 without a body', { headers: { 'content-length': '0' } }, 'allow'],
  [
    'content-length equal to the body',
    { body: call('search'), headers: { 'content-length': String(call('search').length) } },
    'allow',
  ],
  [
    'partial binary upload on a route tool',
    { path: '/upload', body: 'PK\u0003\u0004data', headers: { 'x-envoy-auth-partial-body': 'true' } },
    'allow',
  ],
  // Item 3: depth bounded before JSON.parse.
  ['65 nested arrays', { body: `${'['.repeat(65)}${']'.repeat(65)}` }, DEEP],
  ['1 MB of nested arrays', { body: '['.repeat(1_000_000) }, DEEP],
  ['stray closers do not buy depth', { body: `[${']'.repeat(100)}${'['.repeat(65)}` }, DEEP],
  ['64 nested arrays is fine (no tool in it)', { body: `${'['.repeat(64)}${']'.repeat(64)}` }, 'allow'],
  ['brackets inside strings do not nest', { body: call('search', '['.repeat(1000)) }, 'allow'],
  // Bounded work: containers plus members (LIMITS.maxJsonNodes) counted by the same scan.
  ['100,000 containers is fine', { body: `[${'[],'.repeat(99_998)}[]]` }, 'allow'],
  ['100,001 containers', { body: `[${'[],'.repeat(99_999)}[]]` }, COMPLEX],
  ['100,000 containers and members is fine', { body: `{${'"a":1,'.repeat(99_998)}"b":1}` }, 'allow'],
  ['100,001 containers and members', { body: `{${'"a":1,'.repeat(99_999)}"b":1}` }, COMPLEX],
  [
    'colons and brackets inside strings are not nodes',
    { body: call('search', '[:{'.repeat(200_000)) },
    'allow',
  ],
  // Go's encoding/json matches member names case-insensitively (Unicode folding), last match wins.
  ['"METHOD" (Go reads a call)', { body: '{"jsonrpc":"2.0","id":1,"METHOD":"tools/call"}' }, INVALID],
  ['"METHOD" without jsonrpc', { body: '{"METHOD":"tools/call","params":{"name":"delete"}}' }, INVALID],
  [
    '"Name" after "name"',
    { body: call('search').replace('"arguments"', '"Name":"delete","arguments"') },
    INVALID,
  ],
  [
    '"paramſ" (long s)',
    { body: call('search').replace('"params"', '"paramſ":{"name":"delete"},"params"') },
    INVALID,
  ],
  [
    'upper-case names outside the call fields are fine',
    { body: call('search').replace('"note"', '"NOTE"') },
    'allow',
  ],
];

describe('body view: every reading is checked or refused', () => {
  it.each(CASES)('%s', async (_name, parts, want) => {
    expect(await verdict(parts)).toEqual(want);
  });
});

/** Tools a lenient reader (Node Buffer.toString + JSON.parse, or BOM-sniffing lossy decoding) sees called. */
function lenientTools(bytes: Buffer): string[] {
  const texts = [bytes.toString()];
  for (const label of ['utf-16le', 'utf-16be', 'utf-8']) texts.push(new TextDecoder(label).decode(bytes));
  const out: string[] = [];
  for (const t of texts) {
    let doc: unknown;
    try {
      doc = JSON.parse(t.replace(/^\uFEFF/, ''));
    } catch {
      continue;
    }
    for (const m of Array.isArray(doc) ? doc : [doc]) {
      const p = (m as { method?: unknown; params?: { name?: unknown } } | null) ?? {};
      if (p.method === 'tools/call' && typeof p.params?.name === 'string') out.push(p.params.name);
    }
  }
  return out;
}

describe('property: a lenient reading of tools/call X is never allowed for an out-of-scope X', () => {
  const name = fc.oneof(
    fc.constantFrom('search', 'delete', 'fs.write'),
    fc.stringMatching(/^[a-z][a-z._]{0,11}$/),
  );
  const bad = fc.constantFrom('', '\xff', '\xc3', '\xed\xa0\x80', '\xfe\xff', '\x00');
  it('checks X or denies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(name, bad), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.constantFrom('', ' ', '\n\t ', '\r\n'.repeat(50)),
        fc.constantFrom('utf8', 'utf8bom', 'utf16le', 'utf16lebom', 'utf16bebom'),
        fc.constantFrom(undefined, 'application/json', 'text/plain'),
        fc.boolean(),
        async (calls, batch, pad, enc, ct, asString) => {
          const parts = calls.map(([n]) => call(n, 'NOTE'));
          const text = pad + (batch ? `[${parts.join(',')}]` : parts[0]!) + pad;
          let bytes: Buffer;
          if (enc.startsWith('utf8')) {
            // Invalid bytes go inside the note strings (latin1 keeps each \xNN a single byte).
            const chunks = text.split('NOTE');
            const b: Buffer[] = [Buffer.from(enc === 'utf8bom' ? '\uFEFF' : '')];
            chunks.forEach((c, i) => {
              b.push(Buffer.from(c));
              if (i < chunks.length - 1) b.push(Buffer.from(calls[i]?.[1] ?? '', 'latin1'));
            });
            bytes = Buffer.concat(b);
          } else {
            const t = text.replaceAll('NOTE', 'n');
            const body = enc === 'utf16bebom' ? utf16be(t) : Buffer.from(t, 'utf16le');
            bytes = Buffer.concat([
              enc === 'utf16lebom' ? BOM16LE : enc === 'utf16bebom' ? BOM16BE : Buffer.alloc(0),
              body,
            ]);
          }
          const seen = lenientTools(bytes);
          const v = await verdict({
            ...(asString ? { body: bytes.toString() } : { rawBody: bytes }),
            ...(ct ? { headers: { 'content-type': ct } } : {}),
          });
          if (seen.some((t) => t !== 'search')) expect(v).not.toBe('allow');
        },
      ),
      { numRuns: 400 },
    );
  });
});
