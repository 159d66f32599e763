/**
 * `sigil serve` in process with Check workers (docs/authz.md §12), for test/serve/workers*: free ports, a temp data
 * dir, `sigil.authz.workers: 2`, and gRPC clients each on a connection of its own (node:cluster spreads
 * connections, not calls). Plus one sample of a Prometheus text exposition.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { type RunningSigil, startSigil } from '../../src/serve/index.js';
import { authzClient } from './authz-client.js';
import { freePorts } from './ports.js';

/** A running sidecar with workers, its data dir and `n` clients; `stop()` closes all and removes the dir. */
export interface WorkersSigil {
  sigil: RunningSigil;
  dir: string;
  clients: Client[];
  /** Replaces the clients with `n` fresh ones (new connections). */
  reconnect(n?: number): Client[];
  stop(): Promise<void>;
}

/** Starts it; `sigil` overrides are merged over the test defaults (`authz` one level deep). */
export async function startWorkersSigil(
  sigil: Record<string, unknown>,
  o: { logger: Logger; drainMs?: number; dir?: string; clients?: number },
): Promise<WorkersSigil> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'sigil-workers-'));
  const [authz, admin, http, grpc] = (await freePorts(4)) as [number, number, number, number];
  const config = loadConfig({
    env: {},
    overrides: {
      data_dir: dir,
      log: { level: 'warn' },
      ...sigil,
      authz: { listen: `127.0.0.1:${authz}`, workers: 2, ...(sigil.authz as object) },
      admin: { listen: `127.0.0.1:${admin}`, token: 'workers-test-admin-token' },
      issuer: { listen_http: `127.0.0.1:${http}`, listen_grpc: `127.0.0.1:${grpc}` },
    },
  });
  const running = await startSigil(config, {
    logger: o.logger,
    ...(o.drainMs !== undefined ? { drainMs: o.drainMs } : {}),
  });
  const open = (n: number) =>
    Array.from({ length: n }, () =>
      authzClient(running.authz.address, { 'grpc.use_local_subchannel_pool': 1 }),
    );
  const out: WorkersSigil = {
    sigil: running,
    dir,
    clients: open(o.clients ?? 4),
    reconnect(n = out.clients.length) {
      for (const c of out.clients) c.close();
      out.clients = open(n);
      return out.clients;
    },
    async stop() {
      for (const c of out.clients) c.close();
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return out;
}

/** One sample (`name{labels}`) of the Prometheus text at `url`, as a number; 0 when absent. */
export async function metricSample(url: string, sample: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const esc = sample.replace(/[{}"=.*+?^$()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${esc} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
