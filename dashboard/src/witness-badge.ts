/**
 * The witness badge's data (docs/witness.md §4): which witnesses vouched for the newest cosigned checkpoint,
 * checked in the browser (log signature + cosignature/v1 lines), and whether that meets the policy with no
 * witness alarm raised.
 */
import { verifyCosigned } from '../../src/witness/verify-cosigned.js';

interface Status {
  log_key: string;
  policy: { k: number; n: number };
  witnesses: Array<{ name: string; key: string; alarm?: { reason: string; message: string } }>;
}

/** What the badge shows. */
export interface Badge {
  ok: boolean;
  text: string;
  title: string;
}

/**
 * Reads `<base>/witness/status` and `/witness/cosigned` and verifies the note in the browser; undefined when
 * the sidecar has no witnesses configured.
 */
export async function witnessBadge(base = ''): Promise<Badge | undefined> {
  const res = await fetch(`${base}/witness/status`);
  if (res.status === 404) return undefined;
  const s = (await res.json()) as Status;
  const alarms = s.witnesses.filter((w) => w.alarm).map((w) => `${w.name}: ${w.alarm?.reason}`);
  let vouched: string[] = [];
  let problem: string | undefined;
  const cp = await fetch(`${base}/witness/cosigned`);
  if (cp.status === 200) {
    try {
      const v = verifyCosigned(await cp.text(), { logKey: s.log_key, witnesses: s.witnesses.map((w) => w.key) });
      vouched = v.cosigners.map((c) => c.name);
    } catch (e) {
      problem = (e as { code?: string }).code ?? 'invalid';
    }
  }
  const ok = problem === undefined && vouched.length >= s.policy.k && alarms.length === 0;
  const text = problem
    ? `witness alarm: ${problem}`
    : `witnessed ${vouched.length}/${s.policy.n}${vouched.length < s.policy.k ? ` (policy ${s.policy.k})` : ''}`;
  const title = [`vouched: ${vouched.join(', ') || 'none'}`, ...alarms].join('\n');
  return { ok, text: alarms.length > 0 && !problem ? `${text} · ${alarms.length} alarm` : text, title };
}

