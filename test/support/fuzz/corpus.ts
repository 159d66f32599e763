/**
 * Seed corpus of the authz fuzzer and the shared malformed-request table (test/authz/malformed.test.ts):
 * one entry per body form, header and path the attacks of issue #18 used, each with its expected outcome for
 * a caller whose token scope is {@link SCOPE} (`search`, `docs.*`), with the built-in policy.
 */
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { type FuzzInput, SCOPE } from './input.js';
import { callText, utf16, utf32 } from './mutate.js';

export { SCOPE };

/** Expected outcome: allowed with these checked tools, or denied with this code. */
export type Expect = { allow: string[] } | { deny: string };

/** One seed. */
export interface Seed {
  name: string;
  input: FuzzInput;
  expect: Expect;
}

const te = new TextEncoder();
const b = (...parts: Array<string | number[] | Uint8Array>): Uint8Array =>
  new Uint8Array(
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? te.encode(p) : Uint8Array.from(p as number[])))),
  );
/** A scoped POST /mcp with these headers and body. */
const mcp = (
  body: Uint8Array | string,
  headers: Record<string, string> = {},
  more: Partial<FuzzInput> = {},
) => ({
  method: 'POST',
  path: '/mcp',
  headers: { 'x-sigil-tool': 'search', ...headers },
  body: typeof body === 'string' ? te.encode(body) : body,
  token: 'scoped' as const,
  ...more,
});

const deny = (code: string): Expect => ({ deny: code });
const allow = (...tools: string[]): Expect => ({ allow: tools });
const DELETE = callText('delete');
const SEARCH = callText('search');
/** issue #18 item 1: `\xff` inside the arguments of a call to delete. */
const FF_DELETE = b(
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete","arguments":{"note":"',
  [0xff],
  '"}}}',
);
const MIB = 1 << 20;

/** The seeds. Tool header `search` unless a seed says otherwise. */
export const SEEDS: readonly Seed[] = [
  { name: 'in-scope call, header agrees', input: mcp(SEARCH), expect: allow('search') },
  { name: 'header search, body delete', input: mcp(DELETE), expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE') },
  // Item 1 and 7: invalid UTF-8 inside the call, as bytes and as Envoy's replaced string.
  {
    name: '#18.1 \\xff in arguments, no content-type',
    input: mcp(FF_DELETE),
    expect: deny('AUTHZ_INVALID_ENCODING'),
  },
  {
    name: '#18.1 \\xff in arguments, text/plain',
    input: mcp(FF_DELETE, { 'content-type': 'text/plain' }),
    expect: deny('AUTHZ_INVALID_ENCODING'),
  },
  {
    name: '#18.7 \\xff without pack_as_bytes (string body)',
    input: mcp(FF_DELETE, {}, { asString: true }),
    expect: deny('AUTHZ_INVALID_ENCODING'),
  },
  {
    name: '#18.7 UTF-16LE+BOM without pack_as_bytes',
    input: mcp(utf16(DELETE, true, true), {}, { asString: true }),
    expect: deny('AUTHZ_INVALID_ENCODING'),
  },
  // Item 2: encodings.
  {
    name: '#18.2 Content-Encoding gzip',
    input: mcp(new Uint8Array(gzipSync(DELETE)), { 'content-encoding': 'gzip' }),
    expect: deny('AUTHZ_UNSUPPORTED_ENCODING'),
  },
  {
    name: 'Content-Encoding br',
    input: mcp(new Uint8Array(brotliCompressSync(DELETE)), { 'content-encoding': 'br' }),
    expect: deny('AUTHZ_UNSUPPORTED_ENCODING'),
  },
  {
    name: 'Content-Encoding identity, gzip',
    input: mcp(new Uint8Array(gzipSync(DELETE)), { 'content-encoding': 'identity, gzip' }),
    expect: deny('AUTHZ_UNSUPPORTED_ENCODING'),
  },
  {
    name: 'Transfer-Encoding gzip, chunked',
    input: mcp(SEARCH, { 'transfer-encoding': 'gzip, chunked' }),
    expect: deny('AUTHZ_UNSUPPORTED_ENCODING'),
  },
  {
    name: '#18.2 UTF-16LE with BOM, no content-type',
    input: mcp(utf16(DELETE, true, true)),
    expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE'),
  },
  {
    name: 'UTF-16BE with BOM, no content-type',
    input: mcp(utf16(DELETE, false, true)),
    expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE'),
  },
  {
    name: 'UTF-16LE without BOM, charset=utf-16',
    input: mcp(utf16(DELETE, true), { 'content-type': 'application/json; charset=utf-16' }),
    expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE'),
  },
  {
    name: 'UTF-32LE with BOM',
    input: mcp(utf32(DELETE, true, true)),
    expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE'),
  },
  {
    name: 'UTF-32BE with BOM',
    input: mcp(utf32(DELETE, false, true)),
    expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE'),
  },
  { name: 'UTF-32BE without BOM', input: mcp(utf32(DELETE, false)), expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE') },
  {
    name: 'UTF-16LE with BOM, in scope',
    input: mcp(utf16(SEARCH, true, true)),
    expect: allow('search'),
  },
  { name: 'UTF-8 BOM', input: mcp(b([0xef, 0xbb, 0xbf], DELETE)), expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE') },
  {
    name: 'charset=utf-7',
    input: mcp(SEARCH, { 'content-type': 'application/json; charset=utf-7' }),
    expect: deny('AUTHZ_UNSUPPORTED_ENCODING'),
  },
  {
    name: 'call under text/plain',
    input: mcp(DELETE, { 'content-type': 'text/plain' }),
    expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE'),
  },
  // Item 2: truncation.
  {
    name: '#18.2 1 MiB of whitespace cut by Envoy',
    input: mcp(' '.repeat(MIB), { 'x-envoy-auth-partial-body': 'true' }),
    expect: deny('AUTHZ_BODY_PARTIAL'),
  },
  {
    name: 'content-length beyond the body',
    input: mcp(`  ${SEARCH}`, { 'content-length': '999999' }),
    expect: deny('AUTHZ_BODY_PARTIAL'),
  },
  {
    name: 'declared body Envoy sent none of',
    input: { ...mcp(''), headers: { 'x-sigil-tool': 'search', 'content-length': '95' } },
    expect: deny('AUTHZ_BODY_PARTIAL'),
  },
  {
    name: 'truncated binary upload on a route tool',
    input: {
      ...mcp(b([0x89, 0x50, 0x4e, 0x47, 0xff]), { 'x-envoy-auth-partial-body': 'true' }),
      path: '/upload',
    },
    expect: allow('search'),
  },
  // Item 3: bounded work.
  {
    name: '#18.3 500k nested arrays',
    input: mcp(`${'['.repeat(500_000)}${']'.repeat(500_000)}`),
    expect: deny('AUTHZ_BODY_TOO_DEEP'),
  },
  {
    name: '1 MB of empty arrays',
    input: mcp(`[${'[],'.repeat(333_000)}[]]`),
    expect: deny('AUTHZ_BODY_TOO_COMPLEX'),
  },
  {
    name: '90k member names in a call',
    input: mcp(callText('search', 1, `{${Array.from({ length: 90_000 }, (_, i) => `"k${i}":1`).join(',')}}`)),
    expect: allow('search'),
  },
  {
    name: 'batch of 21k calls',
    input: mcp(`[${'{"method":"tools/call","params":{"name":"s"}},'.repeat(21_000)}{}]`),
    expect: deny('AUTHZ_BODY_TOO_COMPLEX'),
  },
  {
    name: 'batch of 101 calls',
    input: mcp(`[${Array.from({ length: 101 }, (_, i) => callText('search', i)).join(',')}]`),
    expect: deny('AUTHZ_BODY_INVALID'),
  },
  // Item 6: a client's receipt header.
  {
    name: '#18.6 client-sent x-sigil-receipt',
    input: mcp(SEARCH, { 'x-sigil-receipt': 'fake' }),
    expect: allow('search'),
  },
  // Paths.
  { name: '//admin', input: { ...mcp(SEARCH), path: '//admin' }, expect: deny('AUTHZ_BAD_REQUEST') },
  {
    name: 'dot-segment path',
    input: { ...mcp(''), path: '/a/../tools/delete' },
    expect: deny('AUTHZ_BAD_REQUEST'),
  },
  {
    name: 'encoded dot-segment',
    input: { ...mcp(''), path: '/tools/%2e%2e/delete' },
    expect: deny('AUTHZ_BAD_REQUEST'),
  },
  {
    name: 'route tool out of scope',
    input: { ...mcp(''), path: '/tools/delete' },
    expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE'),
  },
  {
    name: 'route tool in scope, no header',
    input: { ...mcp(''), path: '/tools/docs.read', headers: {} },
    expect: allow('docs.read'),
  },
  // JSON-RPC shapes.
  {
    name: 'batch mixing tools',
    input: mcp(`[${SEARCH},${DELETE}]`),
    expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE'),
  },
  {
    name: 'batch of in-scope tools, no header',
    input: { ...mcp(`[${SEARCH},${callText('docs.read', 2)}]`), headers: {} },
    expect: allow('search', 'docs.read'),
  },
  {
    name: 'duplicate "name"',
    input: mcp('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete","name":"search"}}'),
    expect: deny('AUTHZ_BODY_INVALID'),
  },
  {
    name: 'duplicate "name" spelled n\\u0061me',
    input: mcp(
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\\u0061me":"delete","name":"search"}}',
    ),
    expect: deny('AUTHZ_BODY_INVALID'),
  },
  {
    name: 'escaped member name alone',
    input: mcp('{"jsonrpc":"2.0","id":1,"method":"tools\\/call","params":{"n\\u0061me":"delete"}}'),
    expect: deny('AUTHZ_TOOL_NOT_IN_SCOPE'),
  },
  {
    name: 'tools/call without jsonrpc',
    input: mcp('{"id":1,"method":"tools/call","params":{"name":"search"}}'),
    expect: deny('AUTHZ_BODY_INVALID'),
  },
  {
    name: 'NaN in arguments (Python reads it)',
    input: mcp(callText('delete', 1, '{"x":NaN}')),
    expect: deny('AUTHZ_BODY_INVALID'),
  },
  {
    name: 'upper-case METHOD (Go matches it)',
    input: mcp('{"jsonrpc":"2.0","id":1,"METHOD":"tools/call","params":{"name":"delete"}}'),
    expect: deny('AUTHZ_BODY_INVALID'),
  },
  {
    name: 'second "Name" member (Go reads the last)',
    input: mcp('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","Name":"delete"}}'),
    expect: deny('AUTHZ_BODY_INVALID'),
  },
  {
    name: '"paramſ" with a long s (Go folds it to params)',
    input: mcp(
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","paramſ":{"name":"delete"},"params":{"name":"search"}}',
    ),
    expect: deny('AUTHZ_BODY_INVALID'),
  },
  // Headers and tokens.
  {
    name: 'huge header',
    input: mcp(SEARCH, { 'x-big': 'v'.repeat(70_000) }),
    expect: deny('AUTHZ_HEADERS_TOO_LARGE'),
  },
  {
    name: '1001 headers',
    input: mcp(SEARCH, Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`x-h${i}`, 'v']))),
    expect: deny('AUTHZ_HEADERS_TOO_LARGE'),
  },
  {
    name: 'two tools in the header',
    input: mcp(SEARCH, { 'x-sigil-tool': 'search,delete' }),
    expect: deny('AUTHZ_BAD_REQUEST'),
  },
  { name: 'no token', input: mcp(SEARCH, {}, { token: 'none' }), expect: deny('AUTHZ_NO_TOKEN') },
  { name: 'garbage token', input: mcp(SEARCH, {}, { token: 'garbage' }), expect: deny('TBIT_MALFORMED') },
  { name: 'no tool at all', input: { ...mcp(''), headers: {} }, expect: deny('AUTHZ_NO_TOOL') },
];
