/**
 * The running policy: holds the bundle in force, reloads it when its source (a file, or an HTTP bundle server
 * polled with If-None-Match as OPA's bundle plugin does: OPA docs "Management APIs → Bundles") changes, and swaps atomically. A new bundle is built and validated completely before it
 * replaces the old one; a broken one keeps the previous bundle, is logged with its error code, and increments
 * `sigil_policy_load_errors_total`.
 * Before the first good bundle every decision is a deny with POLICY_NOT_LOADED (fail closed).
 */

import { Counter, register as defaultRegistry, type Registry } from 'prom-client';
import { type Clock, systemClock } from '../lib/clock.js';
import type { OnLifecycle } from '../lib/lifecycle-event.js';
import { type PollSource, pollEvery, pollSource } from '../lib/poll-source.js';
import type { PolicyContext, PolicyVerdict } from './api.js';
import { PolicyError } from './errors.js';
import { DEFAULT_EVAL_TIMEOUT_MS, evaluatePolicy } from './evaluate.js';
import { startWorkerEvaluator } from './lib/worker-evaluator.js';
import { describeThrown, type LoadBundleOptions, loadBundle, type PolicyBundle } from './load-bundle.js';
import { failureVerdict } from './map-decision.js';

/** Minimal logger (pino-compatible). */
export interface PolicyLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silentLogger: PolicyLogger = { info() {}, warn() {}, error() {} };

/** Options for {@link PolicyEngine.start}. */
export interface PolicyEngineOptions extends LoadBundleOptions {
  /** Bundle location: a file path, or an https URL of a bundle server resource (http only as `allowLoopbackHttp` says). */
  source: string;
  /** PEM CA certificate(s): when set, the only roots trusted for an https `source` (src/lib/source-url.ts). */
  ca?: string | Buffer;
  /** Accept an `http://` source on a loopback host (default false: https only). */
  allowLoopbackHttp?: boolean;
  /** Polling interval in ms (file mtime check / HTTP ETag poll). Default 10 000. */
  pollIntervalMs?: number;
  /** Evaluation budget (`sigil.policy.eval_timeout_ms`). Default {@link DEFAULT_EVAL_TIMEOUT_MS}. */
  evalTimeoutMs?: number;
  clock?: Clock;
  logger?: PolicyLogger;
  /** Told of each bundle activation (docs/ledger.md §4 `policy.activate`). */
  onLifecycle?: OnLifecycle;
  /** Prometheus registry for the load metrics (default: prom-client's global registry). */
  registry?: Registry;
  /** Largest bundle accepted, bytes (default 32 MiB). */
  maxBundleBytes?: number;
  /** Also react to fs.watch events (default true); polling always runs. */
  watchFiles?: boolean;
  /**
   * `inline` (default): evaluate on the calling thread; the budget is measured, not preempted.
   * `worker`: evaluate on a worker thread terminated at the deadline (docs/policy.md §7).
   */
  isolation?: 'inline' | 'worker';
  /**
   * Longest a swap waits for the promises its {@link PolicyEngine.onActivate} listeners returned (the Check workers'
   * acknowledgements) before refresh() resolves anyway, ms. Default 10 000.
   */
  activationAckMs?: number;
}

/**
 * The options that decide how a bundle evaluates, as plain data: what a Check worker's replica must share with
 * the primary's engine (docs/workers.md §3). Structured-cloneable.
 */
export type PolicyEvalOptions = Pick<
  PolicyEngineOptions,
  'entrypoint' | 'limits' | 'maxMemoryPages' | 'evalTimeoutMs' | 'isolation'
>;

/** {@link PolicyEvalOptions} of an engine's options (drops the source, transport, logger, registry, hooks). */
export function policyEvalOptions(o: PolicyEngineOptions): PolicyEvalOptions {
  const out: PolicyEvalOptions = {};
  if (o.entrypoint !== undefined) out.entrypoint = o.entrypoint;
  if (o.limits !== undefined) out.limits = { ...o.limits };
  if (o.maxMemoryPages !== undefined) out.maxMemoryPages = o.maxMemoryPages;
  if (o.evalTimeoutMs !== undefined) out.evalTimeoutMs = o.evalTimeoutMs;
  if (o.isolation !== undefined) out.isolation = o.isolation;
  return out;
}

/** Options of {@link PolicyEngine.replica}: how to evaluate, and the process-local parts (clock, logs, metrics). */
export type PolicyReplicaOptions = PolicyEvalOptions &
  Pick<PolicyEngineOptions, 'clock' | 'logger' | 'registry'>;

/** The bundle in force as bytes, for a replica (docs/workers.md §3). */
export interface ActivePolicyBundle {
  /** The bundle exactly as fetched (a gzip'd tar). */
  readonly bytes: Uint8Array;
  readonly revision: string;
  /** sha256 hex of `bytes`. */
  readonly sha256: string;
}

/** The registry's counter `name`, registered on first use (several engines may share one registry). */
function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter {
  return (
    (registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] })
  );
}

/** A policy bundle kept current from its source. */
export class PolicyEngine {
  /** The bundle location: a file path or an http(s) URL. */
  readonly source: string;
  private current: PolicyBundle | undefined;
  private currentBytes: Uint8Array | undefined;
  private readonly activationListeners = new Set<(a: ActivePolicyBundle) => unknown>();
  /** Replica activations, chained so they swap in the order they were asked for. */
  private activations: Promise<unknown> = Promise.resolve();
  private lastError: PolicyError | undefined;
  private readonly loadErrors: Counter;
  private readonly loads: Counter;
  private readonly logger: PolicyLogger;
  private readonly clock: Clock;
  /** Undefined for a replica: its bundles come through {@link activate}. */
  private readonly fetcher: PollSource | undefined;
  private stopWatching: (() => void) | undefined;
  private inFlight: Promise<boolean> | undefined;
  private again = false;
  private closed = false;

  private constructor(private readonly o: PolicyEngineOptions & { replica?: true }) {
    const registry = o.registry ?? defaultRegistry;
    this.loadErrors = counter(
      registry,
      'sigil_policy_load_errors_total',
      'Policy bundle loads that failed (the previous bundle stayed in force), by error code.',
      ['code'],
    );
    this.loads = counter(registry, 'sigil_policy_loads_total', 'Policy bundles loaded and swapped in.');
    this.logger = o.logger ?? silentLogger;
    this.clock = o.clock ?? systemClock;
    this.source = o.source;
    this.fetcher = o.replica
      ? undefined
      : pollSource(o.source, {
          maxBytes: o.maxBundleBytes ?? 32 * 1024 * 1024,
          timeoutMs: 10_000,
          accept: 'application/gzip, application/octet-stream',
          ...(o.ca !== undefined ? { ca: o.ca } : {}),
          ...(o.allowLoopbackHttp !== undefined ? { allowLoopbackHttp: o.allowLoopbackHttp } : {}),
          // Over the cap is the bundle's fault; a refused transport (http://, untrusted TLS) has its own code.
          error: (kind, msg, cause) =>
            new PolicyError(
              kind === 'too_big'
                ? 'POLICY_BUNDLE_INVALID'
                : kind === 'refused'
                  ? 'POLICY_SOURCE_REFUSED'
                  : 'POLICY_BUNDLE_UNAVAILABLE',
              `bundle ${msg}`,
              cause,
            ),
        });
  }

  /**
   * An engine with no source of its own: a Check worker's copy of the primary's (docs/workers.md §3). It denies
   * POLICY_NOT_LOADED until {@link activate} swaps in the primary's bundle bytes; it decides exactly as the
   * primary's engine does with the same bundle and {@link PolicyEvalOptions}. It records no lifecycle entry (the
   * primary recorded the activation).
   */
  static replica(options: PolicyReplicaOptions = {}): PolicyEngine {
    return new PolicyEngine({ ...options, source: 'the primary (replica)', replica: true });
  }

  /**
   * Loads the bundle once and starts watching/polling. Resolves even when the first load fails (the engine then
   * denies with POLICY_NOT_LOADED until a good bundle appears); {@link lastLoadError} tells why.
   */
  static async start(options: PolicyEngineOptions): Promise<PolicyEngine> {
    const engine = new PolicyEngine(options);
    await engine.refresh();
    const watchFile = engine.isHttp || options.watchFiles === false ? undefined : engine.source;
    engine.stopWatching = pollEvery(() => void engine.refresh(), options.pollIntervalMs ?? 10_000, watchFile);
    return engine;
  }

  /** True when the source is an http(s) URL. */
  get isHttp(): boolean {
    return this.fetcher?.isHttp ?? false;
  }

  /** The bundle in force. */
  get bundle(): PolicyBundle | undefined {
    return this.current;
  }

  /** The bundle in force as bytes and revision, for replicas (docs/workers.md §3). */
  get activeBundle(): ActivePolicyBundle | undefined {
    const b = this.current;
    const bytes = this.currentBytes;
    return b === undefined || bytes === undefined
      ? undefined
      : { bytes, revision: b.revision, sha256: b.sha256 };
  }

  /**
   * Calls `onActivate` with each bundle swapped in from now on (after the swap, synchronously). When it returns a
   * promise (the Check workers' acknowledgements: docs/workers.md §3), {@link refresh} resolves only after it
   * settles, so a caller awaiting a refresh (a dashboard upload) answers once the bundle is in force everywhere; a
   * rejection is logged and does not undo the swap. Returns the function that stops it.
   */
  onActivate(onActivate: (active: ActivePolicyBundle) => void | Promise<void>): () => void {
    const l = (a: ActivePolicyBundle): unknown => onActivate(a);
    this.activationListeners.add(l);
    return () => {
      this.activationListeners.delete(l);
    };
  }

  /**
   * A replica's swap: loads `bytes` completely (and starts its worker thread under `isolation: worker`), checks
   * that its revision is `revision`, and swaps it in. Calls are applied in the order made. A broken bundle or a
   * revision mismatch rejects with the policy module's code (POLICY_BUNDLE_INVALID) and the previous bundle stays.
   */
  activate(bytes: Uint8Array, revision: string): Promise<void> {
    const run = async (): Promise<void> => {
      let next: PolicyBundle | undefined;
      try {
        next = await this.prepare(bytes);
        if (next === undefined) return; // the bundle in force, or the engine closed
        if (next.revision !== revision) {
          throw new PolicyError(
            'POLICY_BUNDLE_INVALID',
            `bundle revision ${next.revision} is not the announced ${revision}`,
          );
        }
      } catch (e) {
        await next?.close?.();
        const err =
          e instanceof PolicyError ? e : new PolicyError('POLICY_BUNDLE_INVALID', describeThrown(e), e);
        this.fail(err);
        throw err;
      }
      await this.swap(next, bytes);
    };
    const done = this.activations.then(run);
    this.activations = done.catch(() => undefined);
    return done;
  }

  /** Revision of the bundle in force. */
  get revision(): string | undefined {
    return this.current?.revision;
  }

  /** Error of the last failed load (cleared by a successful one). */
  get lastLoadError(): PolicyError | undefined {
    return this.lastError;
  }

  /**
   * One decision with the bundle in force. Never throws. What the policy `print()`s is logged at info level
   * with `decisionId` (the ledger's and `x-sigil-decision-id`'s), as opa-envoy-plugin logs it with its decision id.
   */
  decide(ctx: PolicyContext, clock: Clock = this.clock, decisionId?: string): PolicyVerdict {
    const b = this.current;
    if (!b) {
      const why = this.lastError
        ? ` (last load error: ${this.lastError.code}: ${this.lastError.message})`
        : '';
      return failureVerdict(
        new PolicyError('POLICY_NOT_LOADED', `no policy bundle loaded from ${this.source}${why}`),
        'none',
      );
    }
    const v = evaluatePolicy(b, ctx, {
      timeoutMs: this.o.evalTimeoutMs ?? DEFAULT_EVAL_TIMEOUT_MS,
      clock,
      onPrint: (line) =>
        this.logger.info({ decision_id: decisionId, policy_rev: b.revision, print: line }, 'policy print'),
    });
    // Policy/bundle failures are operator problems worth a log line; input errors are the client's (and floodable).
    if (v.code !== 'OK' && v.code !== 'POLICY_DENIED' && v.code !== 'POLICY_INPUT_INVALID') {
      this.logger.warn(
        { code: v.code, policy_rev: v.revision, eval_us: v.evalUs, err: v.message },
        'policy evaluation failed; denying',
      );
    }
    return v;
  }

  /**
   * Checks the source now and swaps in a changed bundle. Concurrent calls coalesce. Resolves true when a new
   * bundle was swapped in, false when nothing changed or the load failed (the error is in {@link lastLoadError}).
   */
  refresh(): Promise<boolean> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      let swapped = false;
      try {
        do {
          this.again = false;
          swapped = (await this.refreshOnce()) || swapped;
        } while (this.again && !this.closed);
      } finally {
        this.inFlight = undefined;
      }
      return swapped;
    })();
    return this.inFlight;
  }

  private async refreshOnce(): Promise<boolean> {
    let bytes: Uint8Array | undefined;
    let next: PolicyBundle | undefined;
    try {
      bytes = await this.fetcher?.fetch(this.current !== undefined);
    } catch (e) {
      this.fail(
        e instanceof PolicyError ? e : new PolicyError('POLICY_BUNDLE_UNAVAILABLE', describeThrown(e), e),
      );
      return false;
    }
    if (!bytes) return false;
    try {
      next = await this.prepare(bytes);
    } catch (e) {
      this.fail(
        e instanceof PolicyError ? e : new PolicyError('POLICY_BUNDLE_INVALID', describeThrown(e), e),
      );
      return false;
    }
    if (next === undefined) return false;
    await this.swap(next, bytes);
    return true;
  }

  /**
   * Builds and validates a bundle from `bytes` (with its worker thread under `isolation: worker`). Undefined when
   * it is the bundle in force or the engine closed meanwhile; throws PolicyError for a broken bundle.
   */
  private async prepare(bytes: Uint8Array): Promise<PolicyBundle | undefined> {
    let next = await loadBundle(bytes, this.o);
    if (this.closed) return undefined;
    if (this.current && this.current.sha256 === next.sha256) return undefined;
    if (this.o.isolation === 'worker') {
      try {
        const worker = { entrypoint: next.entrypoint, maxMemoryPages: this.o.maxMemoryPages };
        next = { ...next, ...(await startWorkerEvaluator(bytes, worker)) };
      } catch (e) {
        throw new PolicyError(
          'POLICY_BUNDLE_INVALID',
          `policy worker did not start: ${describeThrown(e)}`,
          e,
        );
      }
      if (this.closed) {
        await next.close?.();
        return undefined;
      }
    }
    return next;
  }

  /**
   * Puts `next` in force and tells the logs, the ledger (not for a replica) and the activation listeners; resolves
   * when the promises the listeners returned settled.
   */
  private async swap(next: PolicyBundle, bytes: Uint8Array): Promise<void> {
    const prev = this.current;
    this.current = next; // the atomic swap: one reference assignment
    this.currentBytes = bytes;
    // Decisions are synchronous, so nothing is still running on the old bundle's worker.
    void prev?.close?.();
    this.lastError = undefined;
    this.loads.inc();
    this.logger.info(
      { policy_rev: next.revision, previous_rev: prev?.revision, source: this.source },
      'policy bundle loaded',
    );
    if (!this.o.replica) {
      this.o.onLifecycle?.({
        kind: 'policy.activate',
        source: this.source,
        revision: next.revision,
        bundle_hash: next.sha256,
        ...(prev ? { prev_revision: prev.revision } : {}),
      });
    }
    const active: ActivePolicyBundle = { bytes, revision: next.revision, sha256: next.sha256 };
    const acks: unknown[] = [];
    for (const l of [...this.activationListeners]) {
      try {
        acks.push(l(active));
      } catch (e) {
        acks.push(Promise.reject(e));
      }
    }
    if (acks.every((a) => !(a instanceof Promise))) return;
    // A listener's failure (a worker that refused the bundle) must not undo the swap: it is the listener's to act on.
    // Nor may one that never settles hold every later refresh: past activationAckMs it counts as not confirmed.
    const waitMs = this.o.activationAckMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no acknowledgement in ${waitMs} ms`)), waitMs);
      timer.unref();
    });
    const settled = await Promise.allSettled(acks.map((a) => Promise.race([a, late])));
    clearTimeout(timer);
    for (const r of settled) {
      if (r.status === 'rejected') {
        this.logger.error(
          { policy_rev: next.revision, err: describeThrown(r.reason) },
          'policy bundle not confirmed in force by every Check worker',
        );
      }
    }
  }

  private fail(err: PolicyError): void {
    this.lastError = err;
    this.loadErrors.inc({ code: err.code });
    this.logger.error(
      {
        code: err.code,
        err: err.message,
        source: this.source,
        policy_rev: this.current?.revision ?? 'none',
      },
      this.current
        ? 'policy bundle load failed; keeping the previous bundle'
        : 'policy bundle load failed; denying until a bundle loads',
    );
  }

  /** Stops polling and watching. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWatching?.();
    await this.inFlight?.catch(() => undefined);
    await this.activations;
    await this.current?.close?.();
  }
}
