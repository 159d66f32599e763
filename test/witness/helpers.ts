/** Loopback sidecars for the witness tests: real LMDB logs, real HTTP witness endpoints, state files. */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { MerkleLog } from '../../src/ledger/index.js';
import { closeHttp, listenHttp } from '../../src/lib/listen.js';
import {
  type KnownLog,
  loadOrCreateCosigner,
  WitnessClient,
  type WitnessClientOptions,
  type WitnessMetrics,
  WitnessService,
  witnessHandler,
  witnessMetrics,
} from '../../src/witness/index.js';

/** One sidecar: a log, its witness endpoint on loopback, and (once {@link connect}ed) its witness client. */
export interface Sidecar {
  name: string;
  dir: string;
  log: MerkleLog;
  origin: string;
  service: WitnessService;
  /** Submission prefix of this sidecar's witness. */
  url: string;
  witnessName: string;
  witnessKey: string;
  client?: WitnessClient;
  metrics: WitnessMetrics;
  registry: Registry;
  server: Server;
  /** Stops the witness endpoint only (a witness that is down). */
  stopWitness(): Promise<void>;
  close(): Promise<void>;
}

/** Origin of sidecar `name`'s log. */
export const originOf = (name: string) => `${name}.mesh/sigil/audit`;

/** Opens sidecar `name`'s log in `dir` (its checkpoint key is `<dir>/ledger/keys/checkpoint.jwk`). */
export function openLog(dir: string, name: string): Promise<MerkleLog> {
  return MerkleLog.open(join(dir, 'ledger'), { origin: originOf(name) });
}

/** Starts sidecar `name` with its log already open; its witness accepts `logs`. */
export async function startSidecar(
  dir: string,
  name: string,
  log: MerkleLog,
  logs: KnownLog[],
): Promise<Sidecar> {
  const registry = new Registry();
  const metrics = witnessMetrics(registry);
  const cosigner = loadOrCreateCosigner(join(dir, 'witness', 'cosigner.jwk'), `${name}.mesh/witness`);
  const service = new WitnessService({
    cosigner,
    logs,
    stateFile: join(dir, 'witness', 'witnessed.json'),
    onRefused: (o, _code, status) => metrics.refused.inc({ origin: o, status: String(status) }),
  });
  const handler = witnessHandler(service);
  const server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404).end();
  });
  const { url } = await listenHttp(server, '127.0.0.1:0');
  let stopped = false;
  const sc: Sidecar = {
    name,
    dir,
    log,
    origin: originOf(name),
    service,
    url: `${url}/witness`,
    witnessName: cosigner.name,
    witnessKey: cosigner.vkey,
    metrics,
    registry,
    server,
    async stopWitness() {
      if (!stopped) await closeHttp(server, 100);
      stopped = true;
    },
    async close() {
      await sc.client?.close();
      await sc.stopWitness();
      await log.close();
    },
  };
  return sc;
}

/** Starts `names.length` sidecars under `root`, each witness knowing every sidecar's log. */
export async function startMesh(root: string, names: string[]): Promise<Sidecar[]> {
  const logs = await Promise.all(names.map((n) => openLog(join(root, n), n)));
  const known = names.map((n, i) => ({
    origin: originOf(n),
    keys: [(logs[i] as MerkleLog).checkpoints.verifierKey],
  }));
  return Promise.all(names.map((n, i) => startSidecar(join(root, n), n, logs[i] as MerkleLog, known)));
}

/** Gives `s` a witness client over `witnesses` with policy `k`. */
export function connect(
  s: Sidecar,
  witnesses: Sidecar[],
  k: number,
  log: MerkleLog = s.log,
  onAlarm?: WitnessClientOptions['onAlarm'],
): WitnessClient {
  s.client = new WitnessClient({
    ...(onAlarm ? { onAlarm } : {}),
    log,
    witnesses: witnesses.map((w) => ({ name: w.witnessName, url: w.url, key: w.witnessKey })),
    k,
    stateFile: join(s.dir, 'witness', 'client.json'),
    metrics: s.metrics,
    timeoutMs: 2000,
  });
  return s.client;
}

/** Appends `n` opaque entries tagged `tag`. */
export async function grow(log: MerkleLog, n: number, tag = 'e'): Promise<void> {
  const enc = new TextEncoder();
  for (let i = 0; i < n; i++) await log.append(enc.encode(`${tag}-${log.size}`));
}

/** The value of metric `name` with `labels` in `registry` (undefined when absent). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}
