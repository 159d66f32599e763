/**
 * The policy view's backend over a src/policy PolicyEngine: bundle info, Rego sources, evaluation through
 * `PolicyEngine.decide` (the function the Check hook calls), and bundle upload. Upload runs the bundle through
 * `loadBundle` — the validation hot reload applies — BEFORE touching anything; only a bundle that loads is written
 * (atomically, src/lib/atomic-write) over the configured bundle file, and the engine then hot-reloads it as it would
 * any other change. A refused bundle leaves the file and the policy in force untouched.
 */
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../../lib/atomic-write.js';
import { sha256 } from '../../../lib/bytes.js';
import { type Clock, systemClock } from '../../../lib/clock.js';
import type { SigilError } from '../../../lib/errors.js';
import { loadBundle, type PolicyContext, type PolicyEngine, regoSources } from '../../../policy/index.js';
import { AdminApiError, badRequest } from '../errors.js';
import type { PolicyInfo } from '../types.js';
import { isJsonObject } from './http.js';

/** Wraps an engine (its `source` is the bundle file uploads replace) for the admin API. */
export function adminPolicy(engine: PolicyEngine, entrypoint: string, clock: Clock = systemClock) {
  const { source, isHttp } = engine;
  // The engine does not time-stamp loads; the API records when it first saw each revision / error.
  let seenRev: string | undefined;
  let seenAt: number | undefined;
  let seenErr: SigilError | undefined;
  let seenErrAt = 0;
  let sourcesFor: { sha: string; files: Record<string, string> } | undefined;

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

  /** Rego files inside the bundle file, only when that file is byte-for-byte the bundle in force. */
  const sources = (): Record<string, string> | undefined => {
    const sha = engine.bundle?.sha256;
    if (isHttp || !sha) return undefined;
    if (sourcesFor?.sha === sha) return sourcesFor.files;
    try {
      if (statSync(source).size > 64 * 1024 * 1024) return undefined;
      const bytes = readFileSync(source);
      if (sha256(bytes, 'hex') !== sha) return undefined;
      const files = regoSources(bytes);
      sourcesFor = { sha, files };
      return files;
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
    const s = sources();
    if (s && Object.keys(s).length > 0) out.sources = s;
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
    /** Validates and swaps in a bundle exactly as hot reload does; rejects with its POLICY_* error when refused. */
    async upload(bundle: Uint8Array): Promise<PolicyInfo> {
      if (isHttp) {
        throw new AdminApiError(
          'ADMIN_UNAVAILABLE',
          'the bundle comes from an HTTP bundle server; publish it there instead',
        );
      }
      // Same validation as hot reload; a PolicyError (POLICY_BUNDLE_INVALID, POLICY_BUILTIN_MISSING…) goes back as is.
      const { sha256: sha } = await loadBundle(bundle, { entrypoint });
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
