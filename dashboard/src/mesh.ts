/**
 * The Mesh view's data (docs/witness.md §6, docs/dashboard.md): asks a mesh collector (`sigil audit collect
 * --serve`) where task T was used, then verifies every answer IN THE BROWSER against the witness policy pinned
 * here — its `log` lines pin each sidecar's log key, its witnesses and quorum say whose cosignatures count.
 * The collector's own verdict is never used: a collector (or anything in between) can hide an answer, not
 * forge one.
 */
import type { DecisionRecord } from '../../src/ledger/record.js';
import { ApiError } from './api.js';
import { verifyAnswer } from '../../src/witness/verify-answer.js';
import { parseWitnessPolicy, type WitnessPolicy } from '../../src/witness/witness-policy.js';

const URL_KEY = 'sigil.mesh.collectorUrl';
const POLICY_KEY = 'sigil.mesh.witnessPolicy';
const TOKEN_KEY = 'sigil.mesh.collectorToken';

/** The collector settings: URL and policy in localStorage (public), token in sessionStorage (a secret). */
export interface MeshSettings {
  url: string;
  policy: string;
  token: string;
}

/** The stored collector settings (empty strings when unset). */
export function meshSettings(): MeshSettings {
  return {
    url: localStorage.getItem(URL_KEY) ?? '',
    policy: localStorage.getItem(POLICY_KEY) ?? '',
    token: sessionStorage.getItem(TOKEN_KEY) ?? '',
  };
}

/**
 * Validates and stores the settings.
 * @throws Error naming the field when the URL is not http(s) or the policy does not parse.
 */
export function saveMeshSettings(s: MeshSettings): void {
  const url = s.url.trim().replace(/\/+$/, '');
  if (url !== '' && !/^https?:\/\/[^/\s]+$/.test(url))
    throw new Error('collector URL: must be an http(s) origin (scheme://host[:port])');
  if (s.policy.trim() !== '') {
    try {
      parseWitnessPolicy(s.policy);
    } catch (e) {
      throw new Error(`witness policy: ${(e as Error).message}`);
    }
  }
  localStorage.setItem(URL_KEY, url);
  localStorage.setItem(POLICY_KEY, s.policy);
  sessionStorage.setItem(TOKEN_KEY, s.token.trim());
}

/** One answer as the Mesh view shows it: the collector's claim, and what the browser made of it. */
export interface MeshRow {
  sidecar: string;
  index: number;
  /** From the proven entry when verified, else the collector's claim (shown as unverified). */
  record: DecisionRecord;
  origin: string;
  /** The log's signature with the pinned key and the entry's inclusion proof verified here. */
  proof: boolean;
  /** The checkpoint's verified cosignatures meet the pinned witness policy. */
  policyMet: boolean;
  /** The witnesses whose cosignature verified in the browser (empty when not all checks passed). */
  cosigners: string[];
  /** Why verification failed: the error's stable code and message. */
  failure?: string;
}

/** What the Mesh view shows for a task. */
export interface MeshAnswer {
  task: string;
  rows: MeshRow[];
  pending: Array<{ sidecar: string; index: number }>;
  errors: Array<{ sidecar: string; code: string; message: string }>;
}

interface CollectorReport {
  task: string;
  answers: Array<{ sidecar: string; index: number; origin: string; record: DecisionRecord; bundle: string }>;
  pending: MeshAnswer['pending'];
  errors: MeshAnswer['errors'];
}

/** Verifies each collector answer with the pinned policy (pure: the test harness and the view share it). */
export function verifyReport(report: CollectorReport, policy: WitnessPolicy): MeshAnswer {
  const rows = report.answers.map((a): MeshRow => {
    try {
      const v = verifyAnswer(a.bundle, { index: a.index, policy });
      return {
        sidecar: a.sidecar,
        index: v.index,
        record: v.record,
        origin: v.origin,
        proof: true,
        policyMet: true,
        cosigners: v.cosigners,
      };
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'INVALID';
      return {
        sidecar: a.sidecar,
        index: a.index,
        record: a.record,
        origin: a.origin,
        // verifyAnswer checks the quorum last: this code means signature and inclusion held.
        proof: code === 'WITNESS_POLICY_UNMET',
        policyMet: false,
        cosigners: [],
        failure: `${code}: ${(e as Error).message}`,
      };
    }
  });
  return { task: report.task, rows, pending: report.pending ?? [], errors: report.errors ?? [] };
}

/**
 * Asks the configured collector about `task` and verifies every answer here.
 * @throws ApiError `MESH_NOT_CONFIGURED`, `MESH_UNREACHABLE` (network or CSP refusal), the collector's code
 * for a non-200 answer, or `BAD_RESPONSE`.
 */
export async function askMesh(task: string, s: MeshSettings = meshSettings()): Promise<MeshAnswer> {
  if (s.url === '' || s.policy.trim() === '')
    throw new ApiError(0, 'MESH_NOT_CONFIGURED', 'no mesh collector configured');
  const policy = parseWitnessPolicy(s.policy);
  let res: Response;
  try {
    res = await fetch(`${s.url}/collect?task=${encodeURIComponent(task)}`, {
      headers: s.token ? { authorization: `Bearer ${s.token}` } : {},
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'MESH_UNREACHABLE', `cannot reach the collector at ${s.url} (${(e as Error).message})`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', `unexpected answer from the collector (HTTP ${res.status})`);
  }
  if (res.status !== 200) {
    const b = body as { code?: unknown; error?: unknown };
    throw new ApiError(
      res.status,
      typeof b.code === 'string' ? b.code : `HTTP_${res.status}`,
      `collector: ${typeof b.error === 'string' ? b.error : `HTTP ${res.status}`}`,
    );
  }
  return verifyReport(body as CollectorReport, policy);
}
