/**
 * `startIssuer`: the local issuer endpoint as `sigil serve` runs it — dev keys made on first start,
 * HTTP/JSON on `listenHttp` and gRPC on `listenGrpc` (loopback by default), over one {@link IssuerService}.
 */
import type { Server as HttpServer } from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { bindGrpc, shutdownGrpc } from '../lib/grpc-service.js';
import type { OnLifecycle } from '../lib/lifecycle-event.js';
import { closeHttp, listenHttp } from '../lib/listen.js';
import { createIssuerGrpcServer } from './grpc.js';
import { createIssuerHttpServer } from './http.js';
import { type IssuerOptions, type IssuerStores, openIssuerStores } from './open-stores.js';
import { IssuerService } from './service.js';

/** Optional dependencies of {@link startIssuer}. */
export interface StartIssuerDeps {
  clock?: Clock;
  logger?: Logger;
  /** Skip the gRPC listener (tests of the HTTP transport alone). */
  grpc?: boolean;
  /** Told of every token, key and trust change (docs/ledger.md §4 "Lifecycle entries"); `via` is `serve`. */
  onLifecycle?: OnLifecycle;
  /** Revoke answers once this resolves: the change is in force in every Check worker (IssuerServiceDeps). */
  whenInForce?: () => Promise<void>;
}

/** A running issuer endpoint. */
export interface RunningIssuer {
  service: IssuerService;
  stores: IssuerStores;
  /** Bound HTTP address (`url` like `http://127.0.0.1:9180`). */
  http: { server: HttpServer; url: string; port: number };
  /** Bound gRPC address (`target` for a grpc-js client), when started. */
  grpc: { server: grpc.Server; target: string; port: number } | undefined;
  /** Stops both listeners (in-flight requests get up to 5 s) and closes the stores. */
  close(): Promise<void>;
}

/**
 * Opens the stores, makes sure the issuer signing key and this sidecar's agent key
 * exist (first start), and starts the HTTP and gRPC listeners. A background tick (every
 * min(rotation interval, 60 s)) rotates and prunes keys even when nobody mints.
 */
export async function startIssuer(opts: IssuerOptions, deps: StartIssuerDeps = {}): Promise<RunningIssuer> {
  const stores = await openIssuerStores(opts, {
    clock: deps.clock,
    watch: true,
    onBundleError: (e) => deps.logger?.warn({ err: e }, 'trust bundle refresh failed'),
    ...(deps.onLifecycle ? { onLifecycle: deps.onLifecycle, via: 'serve' as const } : {}),
  });
  const cleanup: (() => Promise<void> | void)[] = [() => stores.close()];
  const closeAll = async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  };
  try {
    stores.keys.issuer.signer();
    stores.keys.agents.ensure(opts.agentId);
    const service = new IssuerService({
      options: opts,
      ...stores,
      clock: deps.clock,
      ...(deps.onLifecycle ? { onLifecycle: deps.onLifecycle } : {}),
      ...(deps.whenInForce ? { whenInForce: deps.whenInForce } : {}),
    });

    const tick = setInterval(() => {
      try {
        stores.keys.issuer.signer();
      } catch (e) {
        deps.logger?.error({ err: e }, 'issuer: key rotation failed');
      }
    }, Math.min(opts.rotationInterval, 60) * 1000);
    tick.unref();
    cleanup.push(() => clearInterval(tick));

    const httpServer = createIssuerHttpServer(service, deps.logger);
    const http = { server: httpServer, ...(await listenHttp(httpServer, opts.listenHttp)) };
    cleanup.push(() => closeHttp(httpServer, 5000));
    let grpcRunning: RunningIssuer['grpc'];
    if (deps.grpc !== false) {
      const server = createIssuerGrpcServer(service, deps.logger);
      grpcRunning = { server, ...(await bindGrpc(server, opts.listenGrpc)) };
      cleanup.push(() => shutdownGrpc(server, 5000));
    }
    deps.logger?.info({ http: http.url, grpc: grpcRunning?.target }, 'issuer endpoint listening');
    let closed: Promise<void> | undefined;
    return { service, stores, http, grpc: grpcRunning, close: () => (closed ??= closeAll()) };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
