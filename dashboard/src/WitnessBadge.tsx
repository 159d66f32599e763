/**
 * Header badge (docs/witness.md §4): which witnesses vouched for the newest cosigned checkpoint, checked in
 * the browser (log signature + cosignature/v1 lines), and an alarm when the count is below the policy or a
 * witness reports a problem. Renders nothing when the sidecar has no witnesses configured.
 */
import { useEffect, useState } from 'react';
import { verifyCosigned } from '../../src/witness/verify-cosigned.js';

interface Status {
  log_key: string;
  policy: { k: number; n: number };
  witnesses: Array<{ name: string; key: string; alarm?: { reason: string; message: string } }>;
}

interface Badge {
  ok: boolean;
  text: string;
  title: string;
}

/** Reads /witness/status and /witness/cosigned and verifies the note; never throws. */
export async function witnessBadge(): Promise<Badge | undefined> {
  const res = await fetch('/witness/status');
  if (res.status === 404) return undefined;
  const s = (await res.json()) as Status;
  const alarms = s.witnesses.filter((w) => w.alarm).map((w) => `${w.name}: ${w.alarm?.reason}`);
  let vouched: string[] = [];
  let problem: string | undefined;
  const cp = await fetch('/witness/cosigned');
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

/** The badge, refreshed every 10 s. */
export function WitnessBadge() {
  const [badge, setBadge] = useState<Badge>();
  useEffect(() => {
    let stop = false;
    const tick = () =>
      witnessBadge().then(
        (b) => !stop && setBadge(b),
        () => !stop && setBadge(undefined),
      );
    tick();
    const t = setInterval(tick, 10_000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, []);
  if (!badge) return null;
  return (
    <span className={badge.ok ? 'pill allow' : 'pill deny'} title={badge.title} data-testid="witness-badge">
      {badge.text}
    </span>
  );
}
