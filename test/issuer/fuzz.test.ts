/**
 * Property tests: whatever a caller sends, the service core answers with a result or a SigilError carrying a
 * stable code (never another exception type, never a 5xx-class failure), and it never mints or delegates
 * anything it was not asked for in a valid request.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IssuerStores, openIssuerStores } from '../../src/issuer/open-stores.js';
import { IssuerService, LOCAL_OPERATOR } from '../../src/issuer/service.js';
import { SigilError } from '../../src/lib/errors.js';
import { AGENT, cleanupDirs, tempDir, testOptions, WORKER } from './helpers.js';

let stores: IssuerStores;
let service: IssuerService;
let root = '';

beforeAll(async () => {
  const options = testOptions(tempDir());
  stores = await openIssuerStores(options, { watch: false });
  stores.keys.agents.ensure(AGENT);
  service = new IssuerService({ options, ...stores });
  root = service.mint({ sub: AGENT, task_id: 't', tool_scope: ['fs.*'] }, LOCAL_OPERATOR).token;
});
afterAll(() => {
  stores.close();
  cleanupDirs();
});

/** Calls `f`; returns 'ok' or the SigilError's code; any other throw fails the property. */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof SigilError)) throw new Error(`non-SigilError thrown: ${String(e)}`, { cause: e });
    if (e.httpStatus >= 500) throw new Error(`server-side status for bad input: ${e.code} ${e.message}`);
    return e.code;
  }
}

const field = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 5 }),
  fc.constantFrom(AGENT, WORKER, 'spiffe://sigil.mesh', 'spiffe://x/../y', '*', 'fs.*', 'fs.read'),
  fc.jsonValue(),
);
/** Objects using the real field names with random values, plus random extra keys. */
const shaped = (names: string[]) =>
  fc.record(Object.fromEntries(names.map((n) => [n, field])), { requiredKeys: [] }).chain((o) =>
    fc.oneof(
      fc.constant(o as Record<string, unknown>),
      fc.dictionary(fc.string(), field).map((x) => ({ ...o, ...x })),
    ),
  );

describe('issuer service on arbitrary input', () => {
  it('mint: result or a 4xx SigilError code', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          shaped(['sub', 'task_id', 'tool_scope', 'ttl', 'aud', 'holder_key', 'jti', 'dmax']),
        ),
        (input) => {
          const r = outcome(() => service.mint(input, LOCAL_OPERATOR));
          expect(r).toMatch(/^(ok|ISSUER_BAD_REQUEST|TBIT_[A-Z_]+)$/);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('delegate: result or a 4xx SigilError code; a random token never yields a delegation', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          shaped(['token', 'to', 'tool_scope', 'ttl', 'aud', 'to_key', 'dmax']),
          fc.record({ token: fc.string(), to: fc.constant(WORKER), tool_scope: fc.constant(['fs.read']) }),
          // Real root with random byte flips: must never verify.
          fc.record({
            token: fc.tuple(fc.nat(), fc.integer({ min: 1, max: 127 })).map(([i, x]) => {
              const at = i % root.length;
              return root.slice(0, at) + String.fromCharCode(root.charCodeAt(at) ^ x) + root.slice(at + 1);
            }),
            to: fc.constant(WORKER),
            tool_scope: fc.constant(['fs.read']),
          }),
        ),
        (input) => {
          const r = outcome(() => service.delegate(input));
          expect(r).not.toBe('ok');
          expect(r).toMatch(/^(ISSUER_[A-Z_]+|TBIT_[A-Z_]+)$/);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('revoke: only a well-formed {task} or {jti} changes the list', () => {
    const before = stores.revocations.current().version;
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(fc.anything(), shaped(['task', 'jti'])), (input) => {
        const r = outcome(() => service.revoke(input, LOCAL_OPERATOR));
        expect(r).toMatch(/^(ok|ISSUER_BAD_REQUEST)$/);
        if (r === 'ok') {
          accepted++;
          const o = input as { task?: unknown; jti?: unknown };
          expect((typeof o.task === 'string') !== (typeof o.jti === 'string')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    expect(stores.revocations.current().version - before).toBeLessThanOrEqual(accepted);
  });
});
