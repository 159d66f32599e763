/**
 * `sigil operator`: watches SigilPolicy, SigilTrust and SigilRevocation objects in its namespace (informers:
 * list + watch), reconciles each into the document the sidecars poll (policy bundle, trust bundle, the one
 * revocation list), writes status conditions, and serves those documents and the injection webhook on one HTTPS
 * listener (docs/operator.md). Stateless: every replica derives the same documents from the same objects.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  CustomObjectsApi,
  type Informer,
  KubeConfig,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { type Logger, pino } from 'pino';
import { canonicalJson } from '../lib/lifecycle-event.js';
import type { OperatorConfig } from './config.js';
import { OperatorError } from './errors.js';
import { ArtifactStore } from './lib/artifacts.js';
import { compileSigilPolicy } from './lib/compile-policy.js';
import { type Condition, mergeConditions } from './lib/conditions.js';
import type { TrustEntry } from './lib/inject.js';
import { type JwksSource, jwksSource } from './lib/jwks-source.js';
import {
  artifactPath,
  GROUP,
  PLURAL,
  type PolicySpec,
  type RevocationSpec,
  type SigilObject,
  type SigilStatus,
  type TrustKey,
  type TrustSpec,
  VERSION,
} from './lib/resources.js';
import { revocationList } from './lib/revocation-list.js';
import { trustDocument } from './lib/trust-document.js';
import { admit } from './lib/webhook.js';

/** Options of {@link startOperator}. */
export interface StartOperatorOptions {
  /** API server credentials; default: `config.kubeconfig`, else in-cluster / $KUBECONFIG. */
  kubeConfig?: KubeConfig;
  logger?: Logger;
}

/** A running operator. */
export interface RunningOperator {
  /** https://<host>:<port> of the listener. */
  url: string;
  port: number;
  /** The served documents (path → bytes + ETag). */
  artifacts: ArtifactStore;
  /** Resolves once every informer has listed its objects and the first reconciles ran. */
  synced: Promise<void>;
  logger: Logger;
  close(): Promise<void>;
}

type Kind = keyof typeof PLURAL;
type Obj = SigilObject<unknown>;

/** Longest delay setTimeout honours (a 32-bit signed count of milliseconds). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Largest AdmissionReview body read (a Pod with large inline data stays well below it). */
const MAX_REVIEW_BYTES = 8 * 1024 * 1024;

/** A reconcile loop: keys are queued (deduplicated) and handled one at a time, newest object state each time. */
function workQueue(handle: (key: string) => Promise<void>, log: Logger): (key: string) => Promise<void> {
  const pending = new Set<string>();
  let running: Promise<void> | undefined;
  const drain = async () => {
    while (pending.size > 0) {
      const key = pending.values().next().value as string;
      pending.delete(key);
      try {
        await handle(key);
      } catch (e) {
        log.error({ err: e, key }, 'reconcile failed');
      }
    }
    running = undefined;
  };
  return (key) => {
    pending.add(key);
    running ??= drain();
    return running;
  };
}

/** Starts the operator: informers, reconcilers and the HTTPS listener. */
export async function startOperator(
  config: OperatorConfig,
  options: StartOperatorOptions = {},
): Promise<RunningOperator> {
  const logger = options.logger ?? pino({ level: config.log.level, base: { component: 'sigil-operator' } });
  const kc = options.kubeConfig ?? new KubeConfig();
  if (options.kubeConfig === undefined) {
    if (config.kubeconfig !== undefined) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
  }
  const api = kc.makeApiClient(CustomObjectsApi);
  const ns = config.namespace;
  const artifacts = new ArtifactStore();
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  const informers = {} as Record<Kind, Informer<Obj> & ObjectCache<Obj>>;
  for (const kind of Object.keys(PLURAL) as Kind[]) {
    const plural = PLURAL[kind];
    informers[kind] = makeInformer<Obj>(kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}`, () =>
      api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural }),
    );
  }
  const get = (kind: Kind, name: string) => informers[kind].get(name, ns);

  /** Writes `status` when it differs from what is stored (a status write is itself a watch event). */
  const writeStatus = async (kind: Kind, obj: Obj, status: SigilStatus): Promise<void> => {
    const prev = obj.status ?? {};
    const body: Record<string, unknown> = { ...status };
    for (const k of Object.keys(prev)) if (!(k in status)) body[k] = null; // merge patch: null deletes
    if (canonicalJson(prev) === canonicalJson(status)) return;
    try {
      await api.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL[kind],
          name: obj.metadata!.name!,
          body: { status: body },
        },
        mergePatch,
      );
    } catch (e) {
      // A deleted object or a conflict is settled by the next watch event.
      logger.warn({ err: e, kind, name: obj.metadata?.name }, 'status write failed');
    }
  };
  const conditions = (
    obj: Obj,
    list: Array<[type: string, ok: boolean, reason: string, message: string]>,
  ): Condition[] =>
    mergeConditions(
      obj.status?.conditions,
      list.map(([type, ok, reason, message]) => ({
        type,
        status: ok ? 'True' : 'False',
        reason,
        message,
        observedGeneration: obj.metadata?.generation ?? 0,
      })),
    );

  // --- SigilPolicy: compile with the real OPA; keep serving the last good bundle when a change does not compile.
  const compiled = new Map<string, { uid: string; generation: number; revision?: string; error?: string }>();
  const reconcilePolicy = workQueue(async (name) => {
    const obj = get('SigilPolicy', name) as SigilObject<PolicySpec> | undefined;
    const path = artifactPath.policy(name);
    if (obj === undefined) {
      artifacts.delete(path);
      compiled.delete(name);
      return;
    }
    const uid = obj.metadata?.uid ?? '';
    const generation = obj.metadata?.generation ?? 0;
    let result = compiled.get(name);
    if (result?.uid !== uid) artifacts.delete(path); // a re-created object starts with nothing served
    if (result?.uid !== uid || result.generation !== generation) {
      const prevRevision = result?.uid === uid ? result.revision : undefined;
      try {
        const c = await compileSigilPolicy(obj.spec);
        artifacts.put(path, c.bundle, 'application/gzip');
        result = { uid, generation, revision: c.revision };
        logger.info({ policy: name, revision: c.revision }, 'policy compiled');
      } catch (e) {
        const message = e instanceof OperatorError ? e.message : String(e);
        result = { uid, generation, ...(prevRevision ? { revision: prevRevision } : {}), error: message };
        logger.warn(
          { policy: name, code: 'OPERATOR_POLICY_INVALID', error: message },
          'policy did not compile',
        );
      }
      compiled.set(name, result);
    }
    const ok = result.error === undefined;
    await writeStatus('SigilPolicy', obj, {
      observedGeneration: generation,
      ...(result.revision ? { revision: result.revision, bundlePath: path } : {}),
      ...(ok ? {} : { error: result.error }),
      conditions: conditions(obj, [
        [
          'Compiled',
          ok,
          ok ? 'Compiled' : 'CompileFailed',
          ok ? `revision ${result.revision}` : (result.error as string),
        ],
        [
          'Ready',
          ok,
          ok ? 'Served' : result.revision ? 'ServingPreviousRevision' : 'NoBundle',
          ok
            ? `served at ${path}`
            : result.revision
              ? `the last good revision ${result.revision} is still served`
              : 'nothing is served: sidecars using this policy deny (POLICY_NOT_LOADED)',
        ],
      ]),
    });
  }, logger);

  // --- SigilTrust: one JWKS document per object, from its inline keys or its jwksUri; its binding (issuers, trust
  // domains) goes into injected pods. A source that fails keeps its last good keys served: fail closed for new keys.
  const trustOk = new Map<string, string>(); // name → uid of the object whose document is served
  /** Per object with a jwksUri: the source, its last keys that passed validation, and the last read's failure. */
  const remote = new Map<
    string,
    { id: string; source?: JwksSource; keys?: TrustKey[]; error?: OperatorError }
  >();
  const refreshDue = new Set<string>(); // names whose jwksUri is read again at their next reconcile
  const limits = { timeoutMs: config.trust_sources.timeout_ms, maxBytes: config.trust_sources.max_bytes };
  const reconcileTrust = workQueue(async (name) => {
    const obj = get('SigilTrust', name) as SigilObject<TrustSpec> | undefined;
    const path = artifactPath.trust(name);
    const uid = obj?.metadata?.uid ?? '';
    if (obj === undefined || (trustOk.has(name) && trustOk.get(name) !== uid)) {
      // Deleted, or re-created: a new object starts with nothing served.
      artifacts.delete(path);
      trustOk.delete(name);
      if (obj === undefined) {
        remote.delete(name);
        refreshDue.delete(name);
        return;
      }
    }
    const { jwksUri, caBundle } = obj.spec;
    let keys: readonly TrustKey[] | undefined;
    let source: [ok: boolean, reason: string, message: string];
    if (jwksUri === undefined) {
      remote.delete(name);
      keys = obj.spec.jwks?.keys ?? [];
      source = [true, 'Inline', `${keys.length} key(s) inline in spec.jwks`];
    } else {
      const id = `${uid}\n${jwksUri}\n${caBundle ?? ''}`;
      let st = remote.get(name);
      if (st?.id !== id) {
        st = { id };
        remote.set(name, st);
      }
      // Read at the first reconcile of a source and when the refresh timer marked it, not on every status echo.
      if (refreshDue.delete(name) || (st.keys === undefined && st.error === undefined)) {
        try {
          st.source ??= jwksSource(jwksUri, caBundle, limits);
          const got = await st.source.read();
          if (got !== undefined) {
            trustDocument(obj.spec, got); // validated before it may replace the last good keys
            st.keys = got;
          }
          st.error = undefined;
        } catch (e) {
          st.error =
            e instanceof OperatorError ? e : new OperatorError('OPERATOR_TRUST_SOURCE_FAILED', String(e), e);
          logger.warn(
            { trust: name, uri: jwksUri, code: st.error.code, error: st.error.message },
            'jwks source',
          );
        }
      }
      keys = st.keys;
      source =
        st.error === undefined
          ? [true, 'Fetched', `${keys?.length ?? 0} key(s) from ${jwksUri}`]
          : [
              false,
              st.error.code === 'OPERATOR_TRUST_INVALID' ? 'InvalidKeys' : 'FetchFailed',
              `${jwksUri}: ${st.error.message}`,
            ];
    }
    const [sourceOk, sourceReason, sourceMessage] = source;
    const generation = obj.metadata?.generation ?? 0;
    let built: { etag: string } | { error: string } | undefined;
    if (keys !== undefined) {
      try {
        built = { etag: artifacts.put(path, trustDocument(obj.spec, keys), 'application/json') };
        trustOk.set(name, uid);
      } catch (e) {
        built = { error: (e as Error).message };
      }
    }
    const served = trustOk.get(name) === uid;
    const current = sourceOk && built !== undefined && 'etag' in built;
    const why = built !== undefined && 'error' in built ? built.error : sourceMessage;
    const status: SigilStatus = {
      observedGeneration: generation,
      source: jwksUri ?? 'inline',
      ...(built !== undefined && 'etag' in built
        ? { keys: keys?.length ?? 0, revision: built.etag.replaceAll('"', '') }
        : {}),
      ...(served ? { bundlePath: path } : {}),
      conditions: conditions(obj, [
        ['SourcesReady', sourceOk, sourceReason, sourceMessage],
        [
          'Loaded',
          current,
          current ? 'Loaded' : built !== undefined && 'error' in built ? 'InvalidKeys' : sourceReason,
          current ? `${keys?.length ?? 0} key(s)` : why,
        ],
        [
          'Ready',
          current,
          current ? 'Served' : served ? 'ServingPreviousKeys' : 'NotServed',
          current
            ? `served at ${path}`
            : served
              ? `the last good keys stay served at ${path}: ${why}`
              : `nothing is served: ${why}`,
        ],
      ]),
    };
    await writeStatus('SigilTrust', obj, status);
  }, logger);
  // Every jwksUri is read again each refresh_s; an unchanged document costs a 304.
  const refresh = setInterval(() => {
    for (const o of informers.SigilTrust.list(ns) as SigilObject<TrustSpec>[]) {
      if (o.spec.jwksUri === undefined) continue;
      const name = o.metadata?.name ?? '';
      refreshDue.add(name);
      void reconcileTrust(name);
    }
  }, config.trust_sources.refresh_s * 1000);
  refresh.unref();

  // --- SigilRevocation: every object → one list; expired entries leave it at their expiry.
  let expiryTimer: NodeJS.Timeout | undefined;
  const reconcileRevocations = workQueue(async () => {
    const all = informers.SigilRevocation.list(ns) as SigilObject<RevocationSpec>[];
    const now = new Date();
    const { body, listed, nextExpiry } = revocationList(all, now);
    const etag = artifacts.put(artifactPath.revocations(), body, 'application/json').replaceAll('"', '');
    clearTimeout(expiryTimer);
    if (nextExpiry !== undefined) {
      // setTimeout takes at most 2^31-1 ms (~24.8 days); a longer delay fires at once, so cap it and re-arm.
      expiryTimer = setTimeout(
        () => void reconcileRevocations('list'),
        Math.min(Math.max(0, nextExpiry - Date.now()) + 50, MAX_TIMER_MS),
      );
      expiryTimer.unref();
    }
    for (const obj of all) {
      const on = listed.has(obj.metadata?.uid ?? '');
      // The revision of the list that first carried it: kept while it stays listed.
      const prev = obj.status?.listRevision;
      const listRevision = typeof prev === 'string' ? prev : etag;
      await writeStatus('SigilRevocation', obj, {
        observedGeneration: obj.metadata?.generation ?? 0,
        ...(on ? { listRevision } : {}),
        conditions: conditions(obj, [
          [
            'Ready',
            on,
            on ? 'Listed' : 'Expired',
            on ? `in ${artifactPath.revocations()}` : `expired at ${obj.spec.expires}`,
          ],
        ]),
      });
    }
  }, logger);

  // One list for all revocations: any change to any of them rebuilds it.
  const revocationsChanged = () => reconcileRevocations('list');
  const reconcile: Record<Kind, (name: string) => Promise<void>> = {
    SigilPolicy: reconcilePolicy,
    SigilTrust: reconcileTrust,
    SigilRevocation: revocationsChanged,
  };
  const restarts: NodeJS.Timeout[] = [];
  let closed = false;
  for (const kind of Object.keys(PLURAL) as Kind[]) {
    const inf = informers[kind];
    const enqueue = (o: KubernetesObject) => void reconcile[kind](o.metadata?.name ?? '');
    inf.on('add', enqueue);
    inf.on('update', enqueue);
    inf.on('delete', enqueue);
    inf.on('error', (err: unknown) => {
      if (closed) return;
      logger.warn({ err, kind, code: 'OPERATOR_KUBE_FAILED' }, 'watch failed; restarting');
      restarts.push(setTimeout(() => void inf.start().catch(() => undefined), 2000));
    });
  }
  const resync = setInterval(() => {
    for (const kind of Object.keys(PLURAL) as Kind[])
      for (const o of informers[kind].list(ns)) void reconcile[kind](o.metadata?.name ?? '');
  }, config.resync_s * 1000);
  resync.unref();

  const trusts = (): TrustEntry[] =>
    (informers.SigilTrust.list(ns) as SigilObject<TrustSpec>[])
      .filter((o) => trustOk.get(o.metadata?.name ?? '') === o.metadata?.uid)
      .map((o) => ({ name: o.metadata?.name ?? '', spec: o.spec }))
      .sort((a, b) => a.name.localeCompare(b.name));

  let ready = false;
  const server: Server = createServer(
    { cert: readFileSync(config.tls.cert_file), key: readFileSync(config.tls.key_file) },
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const json = (status: number, doc: unknown) => {
        const body = JSON.stringify(doc);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      };
      if (req.method === 'POST' && path === '/mutate') {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_REVIEW_BYTES) req.destroy();
          else chunks.push(c);
        });
        req.on('end', () => {
          try {
            const review = admit(JSON.parse(Buffer.concat(chunks).toString('utf8')), config, trusts());
            logger.debug(
              { uid: review.response.uid, patched: review.response.patch !== undefined },
              'admission',
            );
            json(200, review);
          } catch (e) {
            const err =
              e instanceof OperatorError
                ? e
                : new OperatorError('OPERATOR_ADMISSION_INVALID', 'unreadable review', e);
            logger.warn({ code: err.code, error: err.message }, 'admission review refused');
            json(err.httpStatus, err.toJSON());
          }
        });
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
      if (path === '/healthz') return json(200, { status: 'ok' });
      if (path === '/readyz') return json(ready ? 200 : 503, { ready });
      if (!artifacts.serve(path, req, res)) json(404, { error: 'not found' });
    },
  );
  const [host, portText] = [
    config.listen.slice(0, config.listen.lastIndexOf(':')),
    config.listen.slice(config.listen.lastIndexOf(':') + 1),
  ];
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host.replace(/^\[(.*)\]$/, '$1'), () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const synced = (async () => {
    for (const kind of Object.keys(PLURAL) as Kind[]) {
      try {
        await informers[kind].start();
      } catch (e) {
        throw new OperatorError(
          'OPERATOR_KUBE_FAILED',
          `cannot list ${PLURAL[kind]} in ${ns}: ${(e as Error).message}`,
          e,
        );
      }
    }
    // The first revocation list exists even when there is no revocation (an empty list, not a 404).
    await reconcileRevocations('list');
    await Promise.all(
      (['SigilPolicy', 'SigilTrust'] as const).flatMap((k) =>
        informers[k].list(ns).map((o) => reconcile[k](o.metadata?.name ?? '')),
      ),
    );
    ready = true;
    logger.info({ namespace: ns, port }, 'sigil operator ready');
  })();
  synced.catch(() => undefined);

  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    artifacts,
    synced,
    logger,
    async close() {
      closed = true;
      clearInterval(resync);
      clearInterval(refresh);
      clearTimeout(expiryTimer);
      for (const t of restarts) clearTimeout(t);
      await Promise.all(
        (Object.keys(PLURAL) as Kind[]).map((k) => informers[k].stop().catch(() => undefined)),
      );
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
