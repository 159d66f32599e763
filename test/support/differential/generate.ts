/**
 * Seeded generator of the CheckRequests the differential test sends to both systems: the request shapes
 * Envoy forwards (methods, paths with `//`, dot segments and %-encodings, queries with repeats, `;` and bad
 * escapes, headers, bodies as `body` or `raw_body`: JSON, form, multipart, partial, non-UTF-8; an mTLS
 * source principal) plus the header values the corpus policies feed to builtins (RFC 3339 times, JWTs,
 * YAML, hex, base64, HS256 JWTs, zones, durations, versions, CIDRs, byte units in strict and lenient
 * spellings). Same seed → same cases.
 */
import { constants, createHmac, createPrivateKey, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { create } from '@bufbuild/protobuf';
import {
  type CheckRequest,
  CheckRequestSchema,
} from '../../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { prng } from '../../policy/support.js';

/** One generated request, before the bearer token is added. Printable as is in a report. */
export interface Case {
  method: string;
  /** `:path` as Envoy sends it: path, `?` and the raw query. */
  path: string;
  headers: Record<string, string>;
  /** The body, when sent in `http.body` (valid UTF-8 only). */
  body?: string;
  /** The body, when sent in `http.raw_body` (pack_as_bytes). */
  rawBody?: Uint8Array;
  /** `http.size` (int64). */
  size?: bigint;
  principal?: string;
  time: { seconds: bigint; nanos: number };
}

type Rng = ReturnType<typeof prng>;

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const SEGMENTS = [
  'api',
  'api',
  'items',
  'items',
  'admin',
  'Admin',
  'public',
  'tools',
  'users',
  '1',
  '42',
  'abc',
  'fs.read',
  '%61dmin',
  'caf%C3%A9',
  '%FF',
  '%zz',
  'x+y',
  'a%20b',
  '%41DMIN',
  'a;b',
];
/**
 * Segments SIGIL refuses before its policy (docs/policy.md §5 row 2): rare enough that most requests exercise the
 * policy, frequent enough that every run has some.
 */
const ODD_SEGMENTS = ['.', '..', '', 'a%2Fb', '%2e%2e'];
const QUERY_KEYS = ['id', 'id', 'q', 'admin', 'debug', 'debug_sql', 'page', 'x', 'a+b', '%zz', 'k%3Dv'];
const QUERY_VALUES = ['1', '2', 'abc', 'a+b', 'a%20b', '%zz', '', 'x;y', 'Z', 'admin', 'caf%C3%A9', '%FF'];
const STATUSES = [
  '200',
  '302',
  '401',
  '403',
  '418',
  '429',
  '451',
  '503',
  '600',
  '999',
  'float',
  'string',
  'plain',
  'no',
];
const USERS = ['alice', 'bob', 'blocked-eve', '', 'caf\u00e9', 'x'.repeat(40)];
const PRINCIPALS = [
  'spiffe://sigil.mesh/agent/coder/i1',
  'spiffe://sigil.mesh/agent/evil',
  'spiffe://sigil.mesh/agent/x/blocked',
  'spiffe://partner.example/svc',
  'spiffe://other.org/x',
  'not-a-spiffe-id',
];
const TIMES = [
  '2024-05-01T10:00:00Z',
  '2024-05-01t10:00:00z',
  '2024-05-01T10:00:00.123456789+02:00',
  '2099-01-01T00:00:00Z',
  '2024-05-01 10:00:00Z',
  '2019-01-01T00:00:00Z',
  '2024-02-30T00:00:00Z',
  'yesterday',
];
const CONFIGS = [
  '{"mode": "closed"}',
  '{"mode": "open", "list": [1, 2], "n": 12345678901234567890}',
  '{"mode": "open", "mode": "closed"}',
  '{"mode": "open"',
  'mode: open',
  'mode: closed',
  '{"mode": "open"}',
  'mode: open\nlist: [1, 2]',
  'a: b: c',
  '- 1\n- 2',
  'mode: open\nwhen: 2024-01-01',
  'mode: "open"\nn: 0x1F',
  'mode: open\nflag: yes',
  'mode: open\nnested: {k: [a, {b: 1.50}]}',
];
const ZONES = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Local', 'Mars/Olympus', ''];
const DURATIONS = ['1h', '1h30m', '-1.5h', '1d', '300ms', '2h45m10.5s', '', '1e3s', '.5us'];
const DAYS = ['2024-05-01', '2024-13-01', '24-05-01', '2024-02-29', '2023-02-29'];
const VERSIONS = ['1.2.3', 'v1.2.3', '1.2', '1.2.3-rc.1+build.5', '01.2.3', '0.9.9', '2.0.0-alpha', '1.2.3-'];
const CIDRS = ['10.0.0.0/25', '10.0.1.0/24', '::1/128', '300.0.0.0/8', 'x', '192.168.0.1/32', '10.0.0.0/8'];
const TEXTS = ['urn:abc:item', 'a1b22c333', 'banana*?[x]', 'urn::item', 'caf\u00e9 42', ''];
const BYTES = ['10KB', '10KiB', '1.5M', '-1', 'ten', '1e3', '2000000', '5 mb', '1Ei'];
const UUIDS = [
  '00000000-0000-0000-0000-000000000000',
  'not-a-uuid',
  '{6ba7b810-9dad-11d1-80b4-00c04fd430c8}',
  'urn:uuid:6ba7b811-9dad-11d1-80b4-00c04fd430c8',
];
const ROLES = ['admin,user', 'banned', 'a; b c', '', 'user banned'];
const HEXES = ['6f6b21', '6f6b2', '6F6B21', 'zz', 'ff6f6b', '6f6bff', ''];
const B64_TEXTS = ['let me in', 'let me in?>', 'let me in~~~', 'nope'];
const TOOLS = ['fs.read', 'fs.delete', 'shell.exec', 'web.search', ''];
const CONTENT_TYPES: Record<string, string[]> = {
  json: [
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/json-patch+json',
  ],
  form: ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8'],
  multipart: [
    'multipart/form-data; boundary=XyZ',
    'multipart/form-data',
    'multipart/form-data; boundary="XyZ"',
  ],
  text: ['text/plain'],
};

/** base64 of `s` in the spellings a lenient decoder accepts and OPA's strict one may not. */
function b64Variant(r: Rng, s: string): string {
  const std = Buffer.from(s, 'utf8').toString('base64');
  return r.pick([std, std.replace(/=+$/, ''), Buffer.from(s, 'utf8').toString('base64url'), `${std}=`]);
}

/** A JWT-shaped string: valid base64url segments, or padded, standard-alphabet, bad JSON, too few parts. */
function jwtVariant(r: Rng): string {
  const role = r.pick(['admin', 'user', 'banned', 'guest']);
  const header = { alg: 'none', kid: r.pick(['k1', 'k?>', 'k~~']) };
  const payload = { sub: r.pick(['u1', 'u??>>', 'u~~~']), role };
  const enc = (o: object, how: string) => {
    const b = Buffer.from(JSON.stringify(o), 'utf8');
    if (how === 'std') return b.toString('base64');
    if (how === 'padded')
      return b.toString('base64url') + '='.repeat((4 - (b.toString('base64url').length % 4)) % 4);
    return b.toString('base64url');
  };
  const how = r.pick(['url', 'url', 'url', 'std', 'padded']);
  const parts = [enc(header, how), enc(payload, how), 'c2ln'];
  switch (r.int(8)) {
    case 0:
      return `${parts[0]}.${Buffer.from('{"sub":', 'utf8').toString('base64url')}.c2ln`;
    case 1:
      return `${parts[0]}.${parts[1]}`;
    default:
      return parts.join('.');
  }
}

/** An HS256 JWT (RFC 7519) with the secret `s3cret` or a wrong one, expired or not, sometimes mangled. */
function signedVariant(r: Rng): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o), 'utf8').toString('base64url');
  const header = b64({ alg: r.pick(['HS256', 'HS256', 'HS384', 'none']), typ: 'JWT' });
  const payload = b64({
    iss: r.pick(['issuer.example', 'issuer.example', 'other']),
    role: r.pick(['admin', 'user']),
    exp: r.pick([4102444800, 1000000000]),
    ...(r.chance(0.2) ? { nbf: 4000000000 } : {}),
  });
  const secret = r.pick(['s3cret', 's3cret', 'wrong']);
  const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  const t = `${header}.${payload}.${sig}`;
  return r.pick([t, t, t, `${t}=`, t.replace(/-/g, '+'), `${header}.${payload}.`]);
}

/** Fixed test keys (test/fixtures/differential/jwt-keys.json); the policy inlines their public JWKS. */
type KeyId = 'rsa' | 'ec' | 'ec384' | 'ec521' | 'ed';
let keys: Record<KeyId, KeyObject> | undefined;
function testKeys(): Record<KeyId, KeyObject> {
  if (!keys) {
    const file = resolve(import.meta.dirname, '../../fixtures/differential/jwt-keys.json');
    const j = JSON.parse(readFileSync(file, 'utf8')) as Record<KeyId, { priv: JsonWebKey }>;
    keys = Object.fromEntries(
      Object.entries(j).map(([id, k]) => [id, createPrivateKey({ key: k.priv, format: 'jwk' })]),
    ) as Record<KeyId, KeyObject>;
  }
  return keys;
}

/** The test key of an ES* algorithm (RFC 7518 §3.4: P-256, P-384, P-521). */
const EC_KEY: Record<string, KeyId> = { ES256: 'ec', ES384: 'ec384', ES512: 'ec521' };

/** A JWS (RFC 7515) signed with one of the algorithms OPA verifies (RFC 7518 §3, RFC 8037), sometimes mangled. */
function asymVariant(r: Rng): string {
  const alg = r.pick([
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
    'HS256',
    'HS384',
    'HS512',
  ]);
  const kid = alg.startsWith('E') ? (EC_KEY[alg] ?? 'ed') : alg.startsWith('H') ? undefined : 'rsa';
  const b64 = (o: object) => Buffer.from(JSON.stringify(o), 'utf8').toString('base64url');
  const input = `${b64({ alg, typ: 'JWT', ...(kid ? { kid } : {}) })}.${b64({ sub: 'svc', exp: r.pick([4102444800, 1000000000]) })}`;
  const k = testKeys();
  const bits = alg.slice(2);
  let sig: Buffer;
  if (alg.startsWith('HS'))
    sig = createHmac(`sha${bits}`, r.pick(['s3cret', 'wrong']))
      .update(input)
      .digest();
  else if (alg === 'EdDSA') sig = sign(null, Buffer.from(input), k.ed);
  else if (alg.startsWith('ES'))
    sig = sign(`sha${bits}`, Buffer.from(input), { key: k[EC_KEY[alg]!], dsaEncoding: 'ieee-p1363' });
  else if (alg.startsWith('PS'))
    sig = sign(`sha${bits}`, Buffer.from(input), {
      key: k.rsa,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: Number(bits) / 8,
    });
  else sig = sign(`sha${bits}`, Buffer.from(input), k.rsa);
  const t = `${input}.${sig.toString('base64url')}`;
  return r.pick([t, t, t, t, `${t.slice(0, -2)}AA`, `${t}=`]);
}

function genPath(r: Rng): string {
  const n = r.int(5);
  const segs = Array.from({ length: n }, () => r.pick(r.chance(0.04) ? ODD_SEGMENTS : SEGMENTS));
  let p = `/${segs.join('/')}`;
  if (r.chance(0.04)) p = `/${p}`;
  if (r.chance(0.08)) p += '/';
  if (r.chance(0.35)) return p;
  const pairs: string[] = [];
  const m = 1 + r.int(4);
  for (let i = 0; i < m; i++) {
    const k = r.chance(0.3) ? 'status' : r.pick(QUERY_KEYS);
    if (k === 'status') pairs.push(`status=${r.pick(STATUSES)}`);
    else if (r.chance(0.15)) pairs.push(k);
    else pairs.push(`${k}=${r.pick(QUERY_VALUES)}`);
  }
  return `${p}?${pairs.join(r.chance(0.1) ? ';' : '&')}`;
}

/** Body text (or bytes) and content type of one generated body. */
function genBody(r: Rng): { kind: string; text?: string; bytes?: Uint8Array } {
  switch (r.pick(['json', 'json', 'mcp', 'mcp', 'form', 'multipart', 'text', 'bad-json', 'non-utf8'])) {
    case 'mcp':
      return {
        kind: 'json',
        text: JSON.stringify({
          jsonrpc: r.chance(0.9) ? '2.0' : '1.0',
          id: r.int(100),
          method: r.chance(0.85) ? 'tools/call' : 'tools/list',
          params: { name: r.pick(TOOLS), arguments: { path: '/tmp/x' } },
        }),
      };
    case 'json':
      return {
        kind: 'json',
        text: r.pick([
          '{"user":"alice","amount":12.5,"tags":["a","b"]}',
          '[1,2,3]',
          '"just a string"',
          '{"big":12345678901234567890,"neg":-0,"exp":1e400}',
          '{"user":"alice","user":"root"}',
          'null',
          '{"nested":{"deep":{"deeper":[{"k":"v"}]}}}',
        ]),
      };
    case 'bad-json':
      return { kind: 'json', text: r.pick(['{"user":', '{user: 1}', '', '{"a":1} trailing']) };
    case 'form': {
      const pairs = [`user=${r.pick(['alice', 'root', 'b%20ob', '%zz', 'a+b', ''])}`];
      if (r.chance(0.4)) pairs.push(`admin=${r.pick(['true', 'false'])}`);
      if (r.chance(0.3)) pairs.push(`user=${r.pick(['second', 'root'])}`);
      if (r.chance(0.2)) pairs.push(r.pick(['x;y=1', 'flag', 'k=%', 'meta=1']));
      return { kind: 'form', text: pairs.join('&') };
    }
    case 'multipart': {
      const part = (name: string, value: string, ct?: string) =>
        `--XyZ\r\nContent-Disposition: form-data; name="${name}"\r\n${ct ? `Content-Type: ${ct}\r\n` : ''}\r\n${value}\r\n`;
      const parts = [part('user', r.pick(['alice', 'root', 'caf\u00e9']))];
      if (r.chance(0.5))
        parts.push(part('meta', r.pick(['{"kind":"report"}', '{"kind":', '[1]']), 'application/json'));
      if (r.chance(0.3)) parts.push(part('admin', 'true'));
      const end = r.chance(0.85) ? '--XyZ--\r\n' : '--XyZ';
      return { kind: 'multipart', text: parts.join('') + end };
    }
    case 'text':
      return { kind: 'text', text: 'plain text body' };
    default:
      return {
        kind: r.pick(['json', 'form', 'text']),
        bytes: Uint8Array.from([0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      };
  }
}

/** The `i`-th case of the stream seeded with `seed` (cases are independent: each has its own sub-seed). */
export function generateCase(seed: number, i: number): Case {
  const r = prng((seed * 1_000_003 + i) >>> 0);
  const method = r.pick(METHODS);
  const path = genPath(r);
  const headers: Record<string, string> = {
    ':method': method,
    ':path': path,
    ':authority': 'svc.local',
    'user-agent': 'differential/1',
  };
  const maybe = (p: number, k: string, v: () => string) => {
    if (r.chance(p)) headers[k] = v();
  };
  maybe(0.5, 'x-user', () => r.pick(USERS));
  maybe(0.2, 'x-api-key', () => 'k-123');
  maybe(0.15, 'cookie', () => 'sid=abc');
  maybe(0.25, 'x-not-before', () => r.pick(TIMES));
  maybe(0.3, 'x-id-token', () => jwtVariant(r));
  maybe(0.25, 'x-config', () => r.pick(CONFIGS));
  maybe(0.25, 'x-roles', () => r.pick(ROLES));
  maybe(0.2, 'x-hex', () => r.pick(HEXES));
  maybe(0.25, 'x-b64', () => b64Variant(r, r.pick(B64_TEXTS)));
  maybe(0.05, 'x-envoy-auth-partial-body', () => r.pick(['true', 'false']));
  maybe(0.3, 'x-tz', () => r.pick(ZONES));
  maybe(0.2, 'x-duration', () => r.pick(DURATIONS));
  maybe(0.15, 'x-day', () => r.pick(DAYS));
  maybe(0.35, 'x-signed', () => signedVariant(r));
  maybe(0.35, 'x-asym', () => asymVariant(r));
  maybe(0.3, 'x-version', () => r.pick(VERSIONS));
  maybe(0.3, 'x-cidr', () => r.pick(CIDRS));
  maybe(0.3, 'x-text', () => r.pick(TEXTS));
  maybe(0.2, 'x-bytes', () => r.pick(BYTES));
  maybe(0.2, 'x-uuid', () => r.pick(UUIDS));

  const c: Case = {
    method,
    path,
    headers,
    time: {
      seconds: BigInt(Math.floor(Date.now() / 1000) - r.int(100_000)),
      nanos: r.chance(0.5) ? 0 : r.int(1e9),
    },
  };
  if (r.chance(0.5)) c.principal = r.pick(PRINCIPALS);
  if (method !== 'GET' ? r.chance(0.85) : r.chance(0.15)) {
    const b = genBody(r);
    const types = CONTENT_TYPES[b.kind];
    if (types && r.chance(0.93)) headers['content-type'] = r.pick(types);
    const bytes = b.bytes ?? Uint8Array.from(Buffer.from(b.text ?? '', 'utf8'));
    const asRaw = b.bytes !== undefined || r.chance(0.5);
    if (asRaw) c.rawBody = bytes;
    else c.body = b.text ?? '';
    const cl = r.int(20);
    if (cl < 12) headers['content-length'] = String(bytes.length);
    else if (cl < 16) headers['content-length'] = String(bytes.length + 1 + r.int(100));
    else if (cl < 17) headers['content-length'] = 'abc';
    if (r.chance(0.6)) c.size = BigInt(bytes.length);
  }
  return c;
}

/** The CheckRequest of `c` with `authorization: Bearer <token>` added (the token SIGIL needs; the plugin ignores it). */
export function toCheckRequest(c: Case, token: string): CheckRequest {
  const socket = (address: string, port: number) => ({
    case: 'socketAddress' as const,
    value: { address, portSpecifier: { case: 'portValue' as const, value: port } },
  });
  return create(CheckRequestSchema, {
    attributes: {
      source: {
        address: { address: socket('10.0.0.5', 41000) },
        ...(c.principal !== undefined ? { principal: c.principal } : {}),
      },
      destination: {
        address: { address: socket('10.0.0.9', 8080) },
        principal: 'spiffe://sigil.mesh/agent/local/i1',
      },
      request: {
        time: c.time,
        http: {
          id: 'req-1',
          method: c.method,
          headers: { ...c.headers, authorization: `Bearer ${token}` },
          path: c.path,
          host: 'svc.local',
          scheme: 'http',
          protocol: 'HTTP/1.1',
          ...(c.body !== undefined ? { body: c.body } : {}),
          ...(c.rawBody !== undefined ? { rawBody: c.rawBody } : {}),
          ...(c.size !== undefined ? { size: c.size } : {}),
        },
      },
    },
  });
}

/** One line per case for reports: method, path, interesting headers, body. */
export function describeCase(c: Case): string {
  const h = Object.entries(c.headers)
    .filter(([k]) => !k.startsWith(':') && k !== 'user-agent')
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ');
  const body =
    c.body !== undefined
      ? `body ${JSON.stringify(c.body.slice(0, 120))}`
      : c.rawBody !== undefined
        ? `raw_body ${JSON.stringify(Buffer.from(c.rawBody).toString('latin1').slice(0, 120))}`
        : 'no body';
  return `${c.method} ${c.path}  [${h}]  ${body}${c.size !== undefined ? ` size=${c.size}` : ''}${c.principal ? `  principal=${c.principal}` : ''}`;
}
