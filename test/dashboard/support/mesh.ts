/**
 * A generated agent mesh for the dashboard's scale tests and bench (issue #24): `agents` SPIFFE IDs over `tasks`
 * tasks, each task a planner (root holder) → two leads → same-type workers, written as decision records into a real
 * LMDB ledger (`MerkleLog`, the path `sigil serve`'s Check hook appends through), and served by the real admin API
 * (`createAdminApi` on `startAdminServer`, the composition `sigil serve` mounts) with the built dashboard. Live load
 * appends at a fixed rate through the same `appendDecision`, so the server's live feed (`log.onAppend` → SSE) and
 * `/api/graph` see it exactly as they see Check decisions.
 *
 * Reusable: `meshPlan` (deterministic agents, chains, records), `writeMesh` (bulk history), `startLiveLoad`
 * (decisions per second) and `startMeshServer` (all of it behind a real socket).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { type AdminApiHandler, createAdminApi } from '../../../src/admin/index.js';
import { type AdminServer, startAdminServer } from '../../../src/admin/server.js';
import { MerkleLog } from '../../../src/ledger/index.js';
import type { DecisionRecord, RecordedHop } from '../../../src/ledger/record.js';

/** Size of a generated mesh. */
export interface MeshSpec {
  /** Distinct agent SPIFFE IDs (≥ 3 per task). Default 200. */
  agents?: number;
  /** Tasks. Default 15. */
  tasks?: number;
}

/** One delegation chain: the task and the hops root first (the leaf makes the call). */
export interface MeshChain {
  task: string;
  hops: { sub: string; scope: string[] }[];
}

/** The deterministic plan of a mesh. */
export interface MeshPlan {
  tasks: string[];
  /** Every agent SPIFFE ID (each is the leaf of exactly one chain). */
  agents: string[];
  chains: MeshChain[];
  /** The `i`-th decision of the mesh at time `ts`. */
  record(i: number, ts: number): DecisionRecord;
}

const TD = 'spiffe://sigil.mesh';
const ISSUER = `${TD}/sigil/issuer`;
const LEADS = [
  { role: 'researcher', scope: ['web.*', 'fs.read'], worker: 'crawler', workerScope: ['web.fetch'] },
  { role: 'coder', scope: ['fs.*'], worker: 'builder', workerScope: ['fs.write'] },
] as const;
const TASK_WORDS = [
  'billing',
  'search',
  'deploy',
  'triage',
  'report',
  'ingest',
  'audit',
  'backup',
  'support',
];

/**
 * Plans a mesh: per task a planner, two leads and the remaining agents spread as workers under the leads (same
 * type per lead, so the graph can group them). Record `i` is made by chain `(i·7919) mod chains`, so any window of
 * `chains` consecutive records covers every agent; every 7th is a scope deny, every 101st a token whose chain did
 * not verify (an "unverified caller" claiming an existing worker's ID).
 */
export function meshPlan(spec: MeshSpec = {}): MeshPlan {
  const nAgents = spec.agents ?? 200;
  const nTasks = spec.tasks ?? 15;
  if (nAgents < nTasks * 3) throw new Error('a mesh needs at least 3 agents per task');
  const tasks = Array.from(
    { length: nTasks },
    (_, t) => `task-${TASK_WORDS[t % TASK_WORDS.length]}-${String(t).padStart(2, '0')}`,
  );
  const chains: MeshChain[] = [];
  const workerCount = nAgents - nTasks * 3;
  const leadsTotal = nTasks * LEADS.length;
  tasks.forEach((task, t) => {
    const planner = { sub: `${TD}/agent/${task}/planner/1`, scope: ['fs.*', 'web.*', 'tickets.*'] };
    chains.push({ task, hops: [planner] });
    LEADS.forEach((lead, l) => {
      const leadHop = { sub: `${TD}/agent/${task}/${lead.role}/1`, scope: [...lead.scope] };
      chains.push({ task, hops: [planner, leadHop] });
      const k = t * LEADS.length + l;
      const workers = Math.floor(workerCount / leadsTotal) + (k < workerCount % leadsTotal ? 1 : 0);
      for (let w = 1; w <= workers; w++) {
        chains.push({
          task,
          hops: [
            planner,
            leadHop,
            { sub: `${TD}/agent/${task}/${lead.worker}/${w}`, scope: [...lead.workerScope] },
          ],
        });
      }
    });
  });
  const agents = chains.map((c) => c.hops[c.hops.length - 1]!.sub);
  const record = (i: number, ts: number): DecisionRecord => {
    const c = chains[(i * 7919) % chains.length]!;
    const leaf = c.hops[c.hops.length - 1]!;
    const tool = leaf.scope[0]!.replace('*', 'read');
    const base = {
      v: 1 as const,
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      ts,
      sub: leaf.sub,
      task_id: c.task,
      method: 'POST',
      host: 'agent.local',
      token_hash: `mesh${String(i).padStart(39, '0')}`,
      policy_rev: 'mesh-1',
    };
    if (i % 101 === 100) {
      return {
        ...base,
        decision: 'deny',
        code: 'TBIT_SIGNATURE_INVALID',
        http_status: 401,
        tool,
        path: `/tools/${tool}`,
      };
    }
    const deny = i % 7 === 6;
    const chain: RecordedHop[] = c.hops.map((h, d) => ({
      sub: h.sub,
      iss: d === 0 ? ISSUER : c.hops[d - 1]!.sub,
      jti: `j${i}-${d}`,
      tool_scope: h.scope,
      exp: Math.floor(ts / 1000) + 300,
    }));
    const called = deny ? 'tickets.delete' : tool;
    return {
      ...base,
      decision: deny ? 'deny' : 'allow',
      code: deny ? 'AUTHZ_TOOL_NOT_IN_SCOPE' : 'OK',
      http_status: deny ? 403 : 200,
      tool: called,
      path: `/tools/${called}`,
      depth: chain.length,
      chain,
    };
  };
  return { tasks, agents, chains, record };
}

/**
 * Appends decisions `from … from+count-1` of the plan, timestamps spread evenly over `[startMs, endMs]`, in
 * concurrent batches of 1 000 (the ledger's group commit turns each batch into a few LMDB transactions).
 */
export async function writeMesh(
  log: MerkleLog,
  plan: MeshPlan,
  count: number,
  o: { from?: number; startMs: number; endMs: number },
): Promise<void> {
  const from = o.from ?? 0;
  const step = count > 1 ? (o.endMs - o.startMs) / (count - 1) : 0;
  for (let i = 0; i < count; i += 1000) {
    const n = Math.min(1000, count - i);
    await Promise.all(
      Array.from({ length: n }, (_, j) =>
        log.appendDecision(plan.record(from + i + j, Math.round(o.startMs + (i + j) * step))),
      ),
    );
  }
}

/** A running live load. */
export interface LiveLoad {
  /** Stops appending; resolves with how many decisions were appended. */
  stop(): Promise<number>;
}

/**
 * Appends `perSecond` decisions per second (in ticks of 50 ms, catching up when a tick runs late) stamped with the
 * current time, continuing the plan's record numbering at `from`.
 */
export function startLiveLoad(log: MerkleLog, plan: MeshPlan, perSecond: number, from: number): LiveLoad {
  const t0 = performance.now();
  let sent = 0;
  let pending: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * perSecond) - sent;
    if (due <= 0) return;
    const now = Date.now();
    const batch = Array.from({ length: due }, (_, j) =>
      log.appendDecision(plan.record(from + sent + j, now)),
    );
    sent += due;
    pending = Promise.all([pending, ...batch]);
  }, 50);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      return sent;
    },
  };
}

/** A mesh behind the real admin API. */
export interface MeshServer {
  plan: MeshPlan;
  log: MerkleLog;
  /** Base URL of the admin server (dashboard at `/`). */
  url: string;
  adminToken: string;
  /** Decisions written so far by `startMeshServer` (the next record number for live load). */
  written: number;
  close(): Promise<void>;
}

/** The admin credential of mesh servers. */
export const MESH_ADMIN_TOKEN = 'mesh-dashboard-admin-token-0123456789';

/**
 * Opens a fresh LMDB ledger in a temp data dir, writes `entries` decisions of a `spec` mesh ending now (spread over
 * `spanMs`, default 2 h), and serves it with the admin API and the dashboard build in `dashboardDir` (build it first,
 * e.g. vite `build({ configFile: 'dashboard/vite.config.ts' })`).
 */
export async function startMeshServer(
  o: { entries: number; spanMs?: number; dashboardDir: string } & MeshSpec,
): Promise<MeshServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-mesh-'));
  const plan = meshPlan(o);
  let log: MerkleLog | undefined;
  let api: AdminApiHandler | undefined;
  let server: AdminServer | undefined;
  try {
    log = await MerkleLog.open(join(dir, 'ledger'), { durability: 'fast', origin: 'sigil.mesh/sigil/audit' });
    const end = Date.now();
    await writeMesh(log, plan, o.entries, { startMs: end - (o.spanMs ?? 2 * 3600_000), endMs: end });
    api = createAdminApi({ adminToken: MESH_ADMIN_TOKEN, ledger: log, dashboardDir: o.dashboardDir });
    server = await startAdminServer({ listen: '127.0.0.1:0', registry: new Registry(), isReady: () => true });
    server.mount(api);
  } catch (e) {
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const [l, a, s] = [log, api, server];
  return {
    plan,
    log: l,
    url: s.url,
    adminToken: MESH_ADMIN_TOKEN,
    written: o.entries,
    async close() {
      a.close();
      await s.close();
      await l.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
