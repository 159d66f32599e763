/**
 * The token module's shared malformed-token table (test/token/malformed.ts) sent through the authz
 * pipeline as `Authorization: Bearer <token>`: every entry is a deny with a stable code, never an allow
 * and never a crash. When the header itself is a well-formed bearer token, the code is the token
 * module's own code for that entry. Then the fuzzer's seed corpus (test/support/fuzz/corpus.ts: every
 * body, header and path form of issue #18) with its expected outcomes, judged by the fuzzer's oracle too.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/authz/lib/limits.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { checkRequest, deniedOf, okOf } from '../support/check-request.js';
import { SEEDS } from '../support/fuzz/corpus.js';
import { judge, makeTargets, run } from '../support/fuzz/harness.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';
import { MALFORMED_TOKENS } from '../token/malformed.js';

const clock = frozenClock(1_767_225_600_000);
const id = testIdentity(clock);
const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
const sink = memorySink();
const { check } = checkFromConfig(config, { trust: id.trust, ledger: sink, clock });
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

describe('authz rejects every malformed token of the shared table', () => {
  it.each(MALFORMED_TOKENS.map((m) => [m.name, m] as const))('%s', async (_name, m) => {
    const value = typeof m.token === 'string' ? m.token : String(m.token);
    const res = await check(
      checkRequest({
        method: 'POST',
        path: '/mcp',
        headers: { 'x-sigil-tool': 'fs.read', authorization: `Bearer ${value}` },
      }),
    );
    expect(res.status!.code).not.toBe(0);
    expect(okOf(res)).toBeUndefined();
    const body = JSON.parse(deniedOf(res)!.body) as { code: string };
    const status = Number(deniedOf(res)!.status!.code);
    if (value.length > LIMITS.maxHeaderValue - 7) {
      expect([status, body.code]).toEqual([431, 'AUTHZ_HEADERS_TOO_LARGE']);
    } else if (!B64TOKEN.test(value.trim())) {
      // Not `Bearer 1*SP b64token` (RFC 6750 §2.1), empty included: refused before any parsing.
      expect([status, body.code]).toEqual([401, 'AUTHZ_BAD_AUTH_HEADER']);
    } else if (value.trim() !== value) {
      // Surrounding whitespace is optional whitespace of the header (RFC 9110 §5.5), not part of the
      // token: the trimmed token is verified and still refused by the token module.
      expect(status).toBe(401);
      expect(body.code).toMatch(/^TBIT_/);
    } else {
      expect(body.code).toBe(m.code);
    }
    expect(sink.records.at(-1)!.decision).toBe('deny');
  });
});

describe('authz answers every request of the fuzz seed corpus as expected (built-in policy)', async () => {
  const env = await makeTargets(false);
  afterAll(() => env.close());
  it.each(SEEDS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    const v = await run(env.targets[0]!, s.input, env.token);
    expect(v.allow ? { allow: v.tools } : { deny: v.code }).toEqual(s.expect);
    expect(judge(s.input, v)).toBeUndefined();
  });
});
