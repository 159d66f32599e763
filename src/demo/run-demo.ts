/**
 * `sigil demo`: one command that starts a real Envoy + SIGIL + a demo agent upstream on free ports with a
 * temporary data dir, mints a task token, delegates it with a narrower scope, sends allowed and denied
 * calls through Envoy, then prints what happened, the signed ledger root and one receipt verified
 * offline against that checkpoint (RFC 9162 §2.1.3.2 inclusion proof).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../config/index.js';
import { LOCAL_OPERATOR } from '../issuer/index.js';
import { openCheckpoint, verifyInclusion } from '../ledger/index.js';
import { SigilError } from '../lib/errors.js';
import { startSigil } from '../serve/index.js';
import { startEchoUpstream } from './echo-upstream.js';
import { startEnvoy } from './envoy-process.js';
import { sidecarPorts } from './free-port.js';

/** Stable codes of the demo itself. */
export type DemoErrorCode = 'DEMO_ENVOY_UNAVAILABLE' | 'DEMO_FAILED';

/** A demo failure (Envoy missing, a step that did not behave). */
export class DemoError extends SigilError<DemoErrorCode> {}

/** One call of the demo. */
export interface DemoRow {
  caller: string;
  request: string;
  tool: string;
  expect: number;
  status: number;
  code: string;
  decisionId: string;
  index: number | undefined;
}

/** What the demo did. */
export interface DemoResult {
  rows: DemoRow[];
  checkpoint: { origin: string; size: number; rootHex: string; note: string };
  receipt: { index: number; decisionId: string; verified: boolean };
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Keep the data dir (path printed). */
  keep?: boolean;
}

const TD = 'spiffe://sigil.mesh';
const TOOLS_AGENT = `${TD}/agent/tools/demo`;
const PLANNER = `${TD}/agent/planner/demo`;
const WORKER = `${TD}/agent/worker/demo`;
const PLANNER_SCOPE = ['fs.read', 'fs.write', 'search.*'];
const WORKER_SCOPE = ['fs.read', 'search.web'];

/**
 * Runs the demo end to end, printing the report on stdout, and returns what happened; throws DemoError when a
 * step misbehaves.
 */
export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const out = (s: string) => process.stdout.write(s);
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-demo-'));
  const {
    authz: authzPort,
    admin: adminPort,
    issuerHttp: httpPort,
    issuerGrpc: grpcPort,
    listen,
    envoyAdmin,
  } = await sidecarPorts();
  const config = loadConfig({
    env: {},
    overrides: {
      data_dir: dataDir,
      agent: { spiffe_id: TOOLS_AGENT },
      authz: {
        listen: `127.0.0.1:${authzPort}`,
        routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }],
      },
      admin: { listen: `127.0.0.1:${adminPort}` },
      issuer: { listen_http: `127.0.0.1:${httpPort}`, listen_grpc: `127.0.0.1:${grpcPort}` },
      audit: { checkpoint_interval: 0 },
    },
  });
  const cleanup: Array<() => Promise<void> | void> = [];
  try {
    const sigil = await startSigil(config, { logger: pino({ level: 'silent' }) });
    cleanup.push(() => sigil.close());
    const upstream = await startEchoUpstream();
    cleanup.push(() => upstream.close());
    const ports = { listen, admin: envoyAdmin, authz: authzPort, upstream: upstream.port };
    const envoy = await startEnvoy(ports).catch((e: Error) => {
      throw new DemoError(
        'DEMO_ENVOY_UNAVAILABLE',
        `could not start Envoy (run scripts/setup-tools.sh or set SIGIL_ENVOY): ${e.message.slice(0, 300)}`,
      );
    });
    cleanup.push(() => envoy.stop());

    const svc = sigil.issuer.service;
    sigil.issuer.stores.keys.agents.ensure(PLANNER);
    sigil.issuer.stores.keys.agents.ensure(WORKER);
    const root = svc.mint(
      { sub: PLANNER, task_id: 'demo-task-1', tool_scope: PLANNER_SCOPE, aud: TOOLS_AGENT, ttl: 300 },
      LOCAL_OPERATOR,
    ).token;
    const child = svc.delegate({ token: root, to: WORKER, tool_scope: WORKER_SCOPE }).token;
    const forged = `${child.slice(0, child.lastIndexOf('.') + 1)}${'A'.repeat(86)}`;

    out(
      `SIGIL demo — Envoy ${envoy.url} → SIGIL ext_authz 127.0.0.1:${authzPort} → demo agent 127.0.0.1:${upstream.port}\n`,
    );
    out(`  planner ${PLANNER}: task demo-task-1, scope ${PLANNER_SCOPE.join(', ')}\n`);
    out(`  worker  ${WORKER}: delegated by planner, narrowed to ${WORKER_SCOPE.join(', ')}\n\n`);

    // A call names its tool in the path (/tools/<tool>) or, with `mcp`, in an MCP tools/call body on /mcp.
    const calls: Array<{ caller: string; token?: string; mcp?: boolean; tool: string; expect: number }> = [
      { caller: 'planner', token: root, tool: 'fs.write', expect: 200 },
      { caller: 'worker', token: child, tool: 'fs.read', expect: 200 },
      { caller: 'worker', token: child, tool: 'fs.write', expect: 403 },
      { caller: 'worker', token: child, mcp: true, tool: 'search.web', expect: 200 },
      { caller: 'worker', token: child, mcp: true, tool: 'shell.exec', expect: 403 },
      { caller: 'anonymous', tool: 'fs.read', expect: 401 },
      { caller: 'forger', token: forged, tool: 'fs.read', expect: 401 },
    ];
    const rows: DemoRow[] = [];
    for (const c of calls) {
      const path = c.mcp ? '/mcp' : `/tools/${c.tool}`;
      const mcpCall = {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: c.tool, arguments: {} },
      };
      const body = c.mcp ? JSON.stringify(mcpCall) : '{}';
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (c.token) headers.authorization = `Bearer ${c.token}`;
      const res = await fetch(`${envoy.url}${path}`, { method: 'POST', headers, body });
      const text = await res.text();
      let code = 'OK';
      if (res.status !== 200) {
        try {
          code = String((JSON.parse(text) as { code?: unknown }).code ?? res.status);
        } catch {
          code = `HTTP_${res.status}`;
        }
      }
      const receipt = res.headers.get('x-sigil-receipt');
      const m = receipt ? /index=(\d+)/.exec(receipt) : null;
      rows.push({
        caller: c.caller,
        request: `POST ${path}${c.mcp ? ' (MCP tools/call)' : ''}`,
        tool: c.tool,
        expect: c.expect,
        status: res.status,
        code,
        decisionId: res.headers.get('x-sigil-decision-id') ?? '-',
        index: m ? Number(m[1]) : undefined,
      });
    }

    const cols = ['#', 'caller', 'request', 'tool', 'status', 'code', 'decision', 'ledger'];
    const widths = [2, 9, 32, 10, 6, 24, 10, 6];
    const line = (...cells: unknown[]) => `${cells.map((c, i) => String(c).padEnd(widths[i]!)).join('  ')}\n`;
    out(line(...cols));
    out(line(...widths.map((w) => '-'.repeat(w))));
    for (const [i, r] of rows.entries()) {
      out(
        line(
          i + 1,
          r.caller,
          r.request,
          r.tool,
          r.status,
          r.code,
          r.decisionId.slice(0, 8),
          r.index ?? 'agg',
        ),
      );
    }
    const wrong = rows.filter((r) => r.status !== r.expect);
    if (wrong.length > 0) {
      throw new DemoError(
        'DEMO_FAILED',
        `unexpected answers: ${wrong.map((r) => `${r.request} ${r.tool} → ${r.status}`).join('; ')}`,
      );
    }

    // Every decision is in the ledger: verified callers' one entry each, the unauthenticated denies in
    // per-(source, code) aggregates once their window ends (ended now); sign a checkpoint over all of them.
    await sigil.audit.denies.flush();
    const log = sigil.ledger;
    const cp = await log.checkpoints.make();
    const opened = openCheckpoint(cp.note, log.checkpoints.verifierKey);
    const first = rows.find((r) => r.index !== undefined)!;
    const index = first.index!;
    const proof = log.inclusionProof(index, opened.size);
    const verified = verifyInclusion(log.leafHashAt(index), index, opened.size, proof, opened.root);
    const rootHex = Buffer.from(opened.root).toString('hex');
    const single = rows.filter((r) => r.index !== undefined).length;
    let aggregates = 0;
    let aggregated = 0;
    let lifecycle = 0;
    for (let i = 0; i < opened.size; i++) {
      const r = log.record(i);
      if (r.kind === 'aggregate') {
        aggregates++;
        aggregated += r.count ?? 0;
      } else if (r.kind !== undefined && r.kind !== 'dropped') lifecycle++;
    }
    out(
      `\nledger: ${opened.size} entries — ${single} decisions one entry each, ${aggregated} unauthenticated denies in ${aggregates} aggregate entries, ${lifecycle} lifecycle entries (keys, mints, start); signed checkpoint:\n`,
    );
    out(cp.note.replace(/^/gm, '  '));
    out(`\nroot ${rootHex}\n`);
    out(
      `receipt: decision ${first.decisionId} at index ${index}: inclusion proof (${proof.length} hashes) against the signed checkpoint of size ${opened.size} → ${verified ? 'VERIFIED' : 'FAILED'}\n`,
    );
    if (opened.size !== single + aggregates + lifecycle || single + aggregated !== rows.length)
      throw new DemoError(
        'DEMO_FAILED',
        `ledger holds ${single} decisions and ${aggregated} aggregated denies, expected ${rows.length} in all`,
      );
    if (!verified) throw new DemoError('DEMO_FAILED', 'receipt did not verify');
    if (o.keep) out(`data dir kept: ${dataDir}\n`);
    return {
      rows,
      checkpoint: { origin: opened.origin, size: opened.size, rootHex, note: cp.note },
      receipt: { index, decisionId: first.decisionId, verified },
    };
  } finally {
    for (const c of cleanup.reverse()) await c();
    if (!o.keep) rmSync(dataDir, { recursive: true, force: true });
  }
}
