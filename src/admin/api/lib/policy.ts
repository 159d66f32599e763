/**
 * The policy view's backend over a src/policy PolicyEngine: bundle info, Rego sources, evaluation through
 * `PolicyEngine.decide` (the function the Check hook calls), and bundle upload. Upload runs the bundle through
 * `loadBundle` — the validation hot reload applies — BEFORE touching anything; only a bundle that loads is written
 * (atomically, src/lib/atomic-write) over the configured bundle file, and the engine then hot-reloads it as it would
 * any other change. A refused bundle leaves the file and the policy in force untouched.
 */
import { readFileSync, statSync } from 'node:fs';
import type { MerkleLog } from '../../../ledger/index.js';
import { decodeRecord } from '../../../ledger/index.js';
import { writeFileAtomic } from '../../../lib/atomic-write.js';
import { sha256 } from '../../../lib/bytes.js';
import { type Clock, systemClock } from '../../../lib/clock.js';
import { isSigilError, SigilError } from '../../../lib/errors.js';
import {
  bundleSources,
  DecisionReplay,
  findOpa,
  inputDependencies,
  loadBundle,
  type PolicyContext,
  type PolicyEngine,
} from '../../../policy/index.js';
import { AdminApiError, badRequest } from '../errors.js';
import type { PolicyInfo, Reevaluation } from '../types.js';
import { isJsonObject } from './http.js';

/** Wraps an engine (its `source` is the bundle file uploads replace) for the admin API. */
export function adminPolicy(engine: PolicyEngine, entrypoint: string, clock: Clock = systemClock) {
  const { source, isHttp } = engine;
  // The engine does not time-stamp loads; the API records when it first saw each revision / error.
  let seenRev: string | undefined;
  let seenAt: number | undefined;
  let seenErr: SigilError | undefined;
  let seenErrAt = 0;
  let sourcesFor:
    | { sha: string; files: Record<string, string>; full: boolean; bytes: Uint8Array }
    | undefined;

  const observe = (): void => {
    if (engine.revision !== seenRev) {
      seenRev = engine.revision;
      seenAt = seenRev === undefined ? undefined : clock.nowMs();
    }
    const err = engine.lastLoadError;
    if (err !== seenErr) {
      seenErr = err;
      seenErrAt = clock.nowMs();
    }
  };

  /** The bundle file in force and its Rego, only when that file is byte-for-byte the bundle loaded. */
  const loaded = () => {
    const sha = engine.bundle?.sha256;
    if (isHttp || !sha) return undefined;
    if (sourcesFor?.sha === sha) return sourcesFor;
    try {
      if (statSync(source).size > 64 * 1024 * 1024) return undefined;
      const bytes = readFileSync(source);
      if (sha256(bytes, 'hex') !== sha) return undefined;
      sourcesFor = { sha, ...bundleSources(bytes), bytes: new Uint8Array(bytes) };
      return sourcesFor;
    } catch {
      return undefined;
    }
  };

  const info = (): PolicyInfo => {
    observe();
    const out: PolicyInfo = { entrypoint, source };
    if (engine.revision !== undefined) out.revision = engine.revision;
    if (seenAt !== undefined) out.loadedAt = seenAt;
    if (seenErr) out.lastError = { code: seenErr.code, message: seenErr.message, at: seenErrAt };
    const s = loaded();
    if (s && Object.keys(s.files).length > 0) {
      out.sources = s.files;
      out.sourcesFull = s.full;
    }
    return out;
  };

  return {
    /** The loaded bundle as the policy view shows it. */
    info,
    /** Evaluates `input` through the same path as Check; a deny is a result, not an error. */
    async evaluate(input: Record<string, unknown>): Promise<unknown> {
      const ctx = asContext(input);
      const v = engine.decide(ctx);
      return {
        allowed: v.allowed,
        code: v.code,
        http_status: v.httpStatus,
        revision: v.revision,
        eval_us: v.evalUs,
        headers: v.headers,
        response_headers_to_add: v.responseHeadersToAdd,
        request_headers_to_remove: v.requestHeadersToRemove,
        body: v.body,
        message: v.message,
        decision: v.decision,
      };
    },
    /**
     * Evaluates recorded decision `index` again under the bundle in force, through the policy replay
     * (docs/policy.md §13): the same input construction, Wasm and mapping as Check, `time.now_ns()` at the
     * recorded time, and only when everything the policy reads is in the record.
     */
    async reevaluate(log: MerkleLog, index: number, timeoutMs?: number): Promise<Reevaluation> {
      const bundle = engine.bundle;
      const file = loaded();
      if (!bundle || !file)
        throw new AdminApiError('ADMIN_UNAVAILABLE', 'no bundle file in force to re-evaluate with');
      let record: ReturnType<typeof decodeRecord>;
      try {
        record = decodeRecord(log.entry(index));
      } catch {
        throw badRequest(`entry ${index} is not a decision record`);
      }
      const replay = new DecisionReplay(bundle, {
        dependencies: await inputDependencies(file.bytes, bundle.entrypoint, findOpa(), file.files),
        samples: 1,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      replay.add(index, record);
      const r = replay.report();
      const out: Reevaluation = {
        index,
        revision: bundle.revision,
        was: record.decision,
        was_code: record.code,
        ...(record.policy_rev !== undefined ? { was_revision: record.policy_rev } : {}),
        outcome: 'same',
      };
      if (r.aggregated.entries > 0)
        return {
          ...out,
          outcome: 'aggregated',
          reason: 'this entry counts unauthenticated denies: there is no single request to evaluate',
        };
      if (r.before_policy > 0)
        return {
          ...out,
          outcome: 'before_policy',
          reason: `denied with ${record.code} before the policy step: no policy can change it`,
        };
      const nr = r.not_replayable;
      if (nr.count > 0)
        return { ...out, outcome: 'not_replayable', ...(nr.reason ? { reason: nr.reason } : {}) };
      const bad = r.unevaluable.samples[0];
      if (r.unevaluable.count > 0)
        return {
          ...out,
          outcome: 'unevaluable',
          now: 'deny',
          now_code: bad?.now_code ?? 'POLICY_EVAL_ERROR',
          ...(bad?.reason ? { reason: bad.reason } : {}),
        };
      const flip = r.samples[0];
      if (flip) return { ...out, outcome: 'changed', now: flip.now!, now_code: flip.now_code! };
      return { ...out, now: record.decision, now_code: record.code };
    },
    /** Validates and swaps in a bundle exactly as hot reload does; rejects with its POLICY_* error when refused. */
    async upload(bundle: Uint8Array): Promise<PolicyInfo> {
      if (isHttp) {
        throw new AdminApiError(
          'ADMIN_UNAVAILABLE',
          'the bundle comes from an HTTP bundle server; publish it there instead',
        );
      }
      // Same validation as hot reload. A refused bundle is the client's fault: its POLICY_* code goes back with
      // HTTP 400 (docs/api.md), not the 503 the code means when the sidecar's own bundle fails to load.
      let sha: string;
      try {
        ({ sha256: sha } = await loadBundle(bundle, { entrypoint }));
      } catch (e) {
        if (isSigilError(e, 'POLICY_BUNDLE_INVALID', 'POLICY_BUILTIN_MISSING'))
          throw new SigilError(e.code, e.message, { http: 400, grpc: 3 });
        throw e;
      }
      writeFileAtomic(source, bundle);
      await engine.refresh();
      if (engine.bundle?.sha256 !== sha) {
        throw (
          engine.lastLoadError ??
          new AdminApiError('ADMIN_INTERNAL', 'the uploaded bundle was written but not loaded')
        );
      }
      return info();
    },
  };
}

/** Checks the evaluator input is a PolicyContext-shaped object ({checkRequest, sigil}). */
function asContext({ checkRequest, sigil }: Record<string, unknown>): PolicyContext {
  if (!isJsonObject(checkRequest)) {
    throw badRequest('input.checkRequest must be an object (a decoded CheckRequest)');
  }
  if (!isJsonObject(sigil)) throw badRequest('input.sigil must be an object (the chain summary)');
  if (typeof sigil.valid !== 'boolean' || typeof sigil.code !== 'string' || !Array.isArray(sigil.hops)) {
    throw badRequest('input.sigil needs valid (boolean), code (string) and hops (array)');
  }
  return { checkRequest, sigil: sigil as unknown as PolicyContext['sigil'] };
}
