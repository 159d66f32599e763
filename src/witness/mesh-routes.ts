/**
 * The witness routes a sidecar serves on its admin server next to the tlog-witness endpoint
 * (docs/witness.md §Admin routes): its witnesses' status, its cosigned checkpoints, and the collector's
 * per-task answers with proofs to a cosigned checkpoint.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditHit, AuditQuery } from '../ledger/index.js';
import { WitnessError } from './errors.js';
import type { WitnessClient } from './witness-client.js';

/** What the routes read of the ledger (the `MerkleLog` public API). */
export interface CollectableLog {
  query(q: AuditQuery): AuditHit[];
  readonly checkpoints: {
    readonly verifierKey: string;
    bundle(index: number, size?: number): Promise<string>;
  };
}

/** One answer of `GET /witness/collect`: an entry of the task with a proof to a cosigned checkpoint. */
export interface CollectAnswer {
  index: number;
  /** c2sp.org/tlog-proof@v1 bundle (entry bytes in `extra`) whose checkpoint carries the cosignatures. */
  bundle: string;
}

/** The body of `GET /witness/collect?task=T`. */
export interface CollectResponse {
  origin: string;
  log_key: string;
  /** Size of the newest cosigned checkpoint the answers are proven against. */
  cosigned_size: number;
  answers: CollectAnswer[];
  /** Entries of the task newer than the newest cosigned checkpoint: no cosigned proof yet. */
  pending: number[];
}

/** Options of {@link witnessRoutes}. */
export interface WitnessRoutesOptions {
  client: WitnessClient;
  log: CollectableLog;
  /** The admin credential `GET /witness/collect` requires (`Authorization: Bearer …`). */
  adminToken: () => string;
  prefix?: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * `GET <prefix>/status` (JSON: policy, each witness's size and alarm, newest cosigned size),
 * `GET <prefix>/cosigned[?size=N]` (the cosigned checkpoint note: public, like any checkpoint) and
 * `GET <prefix>/collect?task=T[&limit=N]` (admin token: the task's entries with cosigned proofs).
 */
export function witnessRoutes(
  o: WitnessRoutesOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const prefix = o.prefix ?? '/witness';
  return (req, res) => {
    if (req.method !== 'GET') return false;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === `${prefix}/status`) {
      const latest = o.client.latest();
      json(res, 200, {
        origin: o.log.checkpoints.verifierKey.split('+', 1)[0],
        log_key: o.log.checkpoints.verifierKey,
        policy: o.client.policy,
        cosigned_size: latest?.size ?? null,
        witnesses: o.client.statuses(),
      });
      return true;
    }
    if (url.pathname === `${prefix}/cosigned`) {
      const size = url.searchParams.get('size');
      const cp = size === null ? o.client.latest() : o.client.cosigned(Number(size));
      if (!cp) json(res, 404, { error: 'no cosigned checkpoint', code: 'WITNESS_NOT_COSIGNED' });
      else {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end(cp.note);
      }
      return true;
    }
    if (url.pathname === `${prefix}/collect`) {
      const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      if (!m || !timingSafeEqual(digest(m[1] as string), digest(o.adminToken()))) {
        json(res, 401, { error: 'admin token required', code: 'ADMIN_UNAUTHORIZED' });
        return true;
      }
      const task = url.searchParams.get('task');
      const limit = Math.min(10_000, Math.max(1, Number(url.searchParams.get('limit') ?? 1000) || 1000));
      if (!task) {
        json(res, 400, { error: 'task is required', code: 'WITNESS_BAD_REQUEST' });
        return true;
      }
      collectTask(o, task, limit).then(
        (body) => json(res, 200, body),
        (e: unknown) =>
          json(res, 500, {
            error: (e as Error).message,
            code: (e as { code?: string }).code ?? 'WITNESS_IO',
          }),
      );
      return true;
    }
    return false;
  };
}

/**
 * The log's tlog-proof bundle for `index` against exactly the cosigned checkpoint `cosigned`, with its
 * cosignature lines appended to the note (they follow the log's signature: c2sp.org/tlog-cosignature).
 * @throws WitnessError `WITNESS_IO` when the stored checkpoint is not the one that was cosigned.
 */
export async function cosignedBundle(
  log: Pick<CollectableLog, 'checkpoints'>,
  cosigned: { size: number; note: string },
  index: number,
): Promise<string> {
  const bundle = await log.checkpoints.bundle(index, cosigned.size);
  const logNote = bundle.slice(bundle.indexOf('\n\n') + 2);
  if (!cosigned.note.startsWith(logNote))
    throw new WitnessError('WITNESS_IO', `stored checkpoint ${cosigned.size} differs from the cosigned one`);
  return `${bundle}${cosigned.note.slice(logNote.length)}`;
}

async function collectTask(o: WitnessRoutesOptions, task: string, limit: number): Promise<CollectResponse> {
  const latest = o.client.latest();
  const hits = o.log.query({ task, limit });
  const answers: CollectAnswer[] = [];
  const pending: number[] = [];
  for (const h of hits) {
    if (!latest || h.index >= latest.size) {
      pending.push(h.index);
      continue;
    }
    answers.push({ index: h.index, bundle: await cosignedBundle(o.log, latest, h.index) });
  }
  const key = o.log.checkpoints.verifierKey;
  return {
    origin: key.split('+', 1)[0] as string,
    log_key: key,
    cosigned_size: latest?.size ?? 0,
    answers,
    pending,
  };
}
