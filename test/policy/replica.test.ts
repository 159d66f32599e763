/**
 * The policy replica of a Check worker (docs/workers.md §3): fed the primary's bundle bytes (structured-cloned, as
 * over the cluster channel), it decides exactly like the primary's decider; it follows revision changes in
 * order; a broken bundle or a wrong revision is refused with POLICY_BUNDLE_INVALID and the previous one stays.
 * Real OPA-compiled Wasm bundles, inline and worker-thread isolation.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChainSummary, HookContext } from '../../src/policy/api.js';
import {
  type ActivePolicyBundle,
  type PolicyDeciderHandle,
  type PolicyEngineOptions,
  policyEvalOptions,
  startPolicyDecider,
  startReplicaDecider,
} from '../../src/policy/index.js';
import { checkRequest } from '../support/check-request.js';
import { opaBuildSources, tempDir } from './support.js';

const clone = <T>(v: T): T => deserialize(serialize(v)) as T;

/** Reads the chain, the tools, the method and the clock: a replica must agree on all of them. */
const POLICY = `package envoy.authz

default allow := {"allowed": false, "http_status": 403}

allow := {"allowed": true, "headers": {"x-tools": concat(",", input.sigil.tools), "x-rev": "%REV%"}} if {
	input.sigil.valid
	input.sigil.depth <= 2
	every t in input.sigil.tools { not startswith(t, "shell.") }
	time.now_ns() < 1800000000000000000
} else := {"allowed": false, "http_status": 418, "body": "no shell here (%REV%)"} if {
	input.sigil.valid
} else := {"allowed": true} if {
	input.sigil.public_route
	input.attributes.request.http.method == "GET"
}
`;
const build = (rev: string, extra = '') =>
  opaBuildSources({ 'p.rego': POLICY.replaceAll('%REV%', rev) + extra }, undefined, rev);

let R1: Buffer;
let R2: Buffer;
const tmp = tempDir('sigil-replica-');
beforeAll(() => {
  R1 = build('r1');
  R2 = build('r2', '\nnever if false\n');
});
afterAll(() => tmp.cleanup());

const handles: PolicyDeciderHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

function place(path: string, bytes: Buffer): void {
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

async function primary(file: string, isolation: 'inline' | 'worker' = 'inline') {
  const options: PolicyEngineOptions = {
    source: file,
    registry: new Registry(),
    pollIntervalMs: 30,
    watchFiles: false,
    evalTimeoutMs: 5000,
    isolation,
  };
  const decider = await startPolicyDecider(options);
  handles.push(decider);
  return { decider, options };
}

function replicaOf(options: PolicyEngineOptions) {
  // Only plain data crosses to the worker: the evaluation options, then bundle bytes.
  const replica = startReplicaDecider({ ...clone(policyEvalOptions(options)), registry: new Registry() });
  handles.push(replica);
  return replica;
}

const T = 1_767_225_600_000;
/** What a context varies: the chain (absent = no token), the method, a public route, the decision time. */
interface Shape {
  chain: { depth: number; tools: string[] } | undefined;
  method: string;
  publicRoute: boolean;
  nowMs: number;
}

function contextOf({ chain, method, publicRoute, nowMs }: Shape): HookContext {
  const tools = chain?.tools ?? [];
  const summary: ChainSummary | undefined = chain && {
    sub: 'spiffe://sigil.mesh/agent/a',
    iss: 'spiffe://sigil.mesh/sigil/issuer',
    task_id: 'task-1',
    aud: 'spiffe://sigil.mesh',
    tool_scope: ['*'],
    depth: chain.depth,
    exp: nowMs / 1000 + 60,
    token_hash: 'h',
    hops: [],
  };
  return {
    request: checkRequest({ method }),
    ...(summary ? { chain: summary } : {}),
    tools,
    toolSource: tools.length > 0 ? 'header' : 'none',
    publicRoute,
    decisionId: 'd-1',
    nowMs,
  };
}

const context = fc
  .record({
    chain: fc.option(
      fc.record({
        depth: fc.integer({ min: 1, max: 3 }),
        tools: fc.subarray(['fs.read', 'shell.exec', 'net.get']),
      }),
      { nil: undefined },
    ),
    method: fc.constantFrom('GET', 'POST'),
    publicRoute: fc.boolean(),
    nowMs: fc.constantFrom(T, 1_800_000_000_000),
  })
  .map(contextOf);

/** One context per answer of POLICY (allow, 418, public allow, default 403), tried before the random ones. */
const EVERY_ANSWER: [HookContext][] = [
  { chain: { depth: 1, tools: ['fs.read'] }, method: 'POST', publicRoute: false, nowMs: T },
  { chain: { depth: 1, tools: ['shell.exec'] }, method: 'POST', publicRoute: false, nowMs: T },
  { chain: undefined, method: 'GET', publicRoute: true, nowMs: T },
  { chain: undefined, method: 'POST', publicRoute: false, nowMs: T },
].map((shape) => [contextOf(shape)]);

async function expectSameDecisions(a: PolicyDeciderHandle, b: PolicyDeciderHandle, runs = 60): Promise<void> {
  const outcomes = new Set<string>();
  await fc.assert(
    fc.asyncProperty(context, async (ctx) => {
      const expected = await a.decide(ctx);
      expect(await b.decide(ctx)).toEqual(expected);
      outcomes.add(
        `${expected.allow} ${expected.httpStatus} ${expected.code} ${expected.headers?.['x-rev']}`,
      );
    }),
    { numRuns: runs, examples: EVERY_ANSWER },
  );
  // Agreement was tested on every answer the policy gives, not on one.
  expect(outcomes.size).toBe(4);
}

describe('policy replica', () => {
  for (const isolation of ['inline', 'worker'] as const) {
    it(`decides exactly like the primary's decider with the same bytes (${isolation})`, async () => {
      const file = join(tmp.dir, `same-${isolation}.tar.gz`);
      place(file, R1);
      const { decider, options } = await primary(file, isolation);
      const replica = replicaOf(options);
      const active = decider.engine.activeBundle!;
      expect(active).toMatchObject({ revision: 'r1' });
      await replica.activate(clone(active.bytes), active.revision);
      expect(replica.revision).toBe('r1');
      await expectSameDecisions(decider, replica, isolation === 'worker' ? 25 : 60);
    });
  }

  it('denies POLICY_NOT_LOADED until the first bundle arrives', async () => {
    const replica = replicaOf({ source: 'unused' });
    const v = await replica.decide(fc.sample(context, 1)[0]!);
    expect(v).toMatchObject({ allow: false, code: 'POLICY_NOT_LOADED', policyRev: 'none' });
  });

  it('follows the primary through a revision change told by onActivate', async () => {
    const file = join(tmp.dir, 'swap.tar.gz');
    place(file, R1);
    const { decider, options } = await primary(file);
    const replica = replicaOf(options);
    const seen: ActivePolicyBundle[] = [];
    const applied: Promise<void>[] = [];
    decider.engine.onActivate((a) => {
      seen.push(a);
      applied.push(replica.activate(clone(a.bytes), a.revision));
    });
    const first = decider.engine.activeBundle!;
    await replica.activate(first.bytes, first.revision);
    place(file, R2);
    const end = Date.now() + 10_000;
    while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(seen.map((a) => a.revision)).toEqual(['r2']);
    await Promise.all(applied);
    expect(replica.revision).toBe('r2');
    await expectSameDecisions(decider, replica, 30);
  });

  it("a refresh resolves once the listeners' acknowledgements settled; a refusal does not undo the swap", async () => {
    const file = join(tmp.dir, 'ack.tar.gz');
    place(file, R1);
    const registry = new Registry();
    const decider = await startPolicyDecider({
      source: file,
      registry,
      pollIntervalMs: 60_000,
      watchFiles: false,
    });
    handles.push(decider);
    const replica = replicaOf({ source: file });
    const first = decider.engine.activeBundle!;
    await replica.activate(first.bytes, first.revision);
    decider.engine.onActivate(async (a) => {
      await new Promise((r) => setTimeout(r, 50)); // a worker on the other end of a channel
      await replica.activate(clone(a.bytes), a.revision);
    });
    decider.engine.onActivate(() => Promise.reject(new Error('worker 3 refused')));
    place(file, R2);
    expect(await decider.engine.refresh()).toBe(true);
    expect(replica.revision).toBe('r2');
    expect(decider.revision).toBe('r2');
  });

  it('a listener that never acknowledges holds a refresh for activationAckMs only', async () => {
    const file = join(tmp.dir, 'hang.tar.gz');
    place(file, R1);
    const errors: string[] = [];
    const logger = { info() {}, warn() {}, error: (_o: object, msg?: string) => void errors.push(msg ?? '') };
    const decider = await startPolicyDecider({
      source: file,
      registry: new Registry(),
      pollIntervalMs: 60_000,
      watchFiles: false,
      activationAckMs: 100,
      logger,
    });
    handles.push(decider);
    decider.engine.onActivate(() => new Promise<void>(() => {}));
    place(file, R2);
    const t0 = Date.now();
    expect(await decider.engine.refresh()).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(decider.revision).toBe('r2');
    expect(errors).toContain('policy bundle not confirmed in force by every Check worker');
  });

  it('applies activations in the order they were asked for', async () => {
    const replica = replicaOf({ source: 'unused' });
    await Promise.all([replica.activate(R1, 'r1'), replica.activate(R2, 'r2')]);
    expect(replica.revision).toBe('r2');
    await Promise.all([replica.activate(R2, 'r2'), replica.activate(R1, 'r1')]);
    expect(replica.revision).toBe('r1');
  });

  it('refuses broken bytes and a revision it was not told, keeping the bundle in force', async () => {
    const replica = replicaOf({ source: 'unused' });
    await replica.activate(R1, 'r1');
    const ctx = fc.sample(context, 1)[0]!;
    const before = await replica.decide(ctx);
    for (const [bytes, rev] of [
      [Buffer.from('not a bundle'), 'r3'],
      [R1.subarray(0, R1.length >> 1), 'r3'],
      [R2, 'r3'],
    ] as const) {
      await expect(replica.activate(bytes, rev)).rejects.toMatchObject({ code: 'POLICY_BUNDLE_INVALID' });
      expect(replica.revision).toBe('r1');
      expect(await replica.decide(ctx)).toEqual(before);
    }
    expect(replica.engine.lastLoadError?.code).toBe('POLICY_BUNDLE_INVALID');
    // A good bundle after a refused one still swaps in.
    await replica.activate(R2, 'r2');
    expect(replica.revision).toBe('r2');
  });

  it('policyEvalOptions keeps exactly the evaluation options, as plain data', () => {
    const o = policyEvalOptions({
      source: '/x',
      entrypoint: 'envoy/authz/allow',
      evalTimeoutMs: 7,
      isolation: 'worker',
      maxMemoryPages: 64,
      registry: new Registry(),
      logger: { info() {}, warn() {}, error() {} },
    });
    expect(clone(o)).toEqual({
      entrypoint: 'envoy/authz/allow',
      evalTimeoutMs: 7,
      isolation: 'worker',
      maxMemoryPages: 64,
    });
  });
});
