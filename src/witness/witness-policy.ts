/**
 * C2SP tlog-policy files (c2sp.org/tlog-policy), browser-safe: `log <vkey> [url]`, `witness <name> <vkey>
 * [url]`, `group <name> all|any|<k> <member>...`, `quorum <name>|none`; and checking a cosigned checkpoint
 * against one (`sigil audit verify-bundle --witness-policy`, the dashboard badge).
 */
import { type NoteVerifier, parseVerifierKey } from '../ledger/browser.js';
import { WitnessError } from './errors.js';
import { type CosignerKey, parseCosignerKey } from './lib/cosigner-key.js';

type Node =
  | { kind: 'witness'; key: CosignerKey }
  | { kind: 'group'; k: number; members: string[] }
  | { kind: 'none' };

/** A parsed policy. */
export interface WitnessPolicy {
  logs: NoteVerifier[];
  witnesses: Array<{ name: string; key: CosignerKey; url?: string }>;
  /** Name of the quorum (a witness, a group, or `none`). */
  quorum: string;
  /** Names → witnesses and groups, in definition order. */
  nodes: Map<string, Node>;
}

/** Limits (the spec recommends supporting at least 32 of each). */
const MAX = 64;

/**
 * Parses a tlog-policy file (§Policy file syntax and structure): names must be defined before use, a member
 * is listed at most once per group, exactly one quorum line, duplicate keys refused.
 * @throws WitnessError `WITNESS_BAD_REQUEST` naming the line.
 */
export function parseWitnessPolicy(text: string): WitnessPolicy {
  const logs: NoteVerifier[] = [];
  const witnesses: WitnessPolicy['witnesses'] = [];
  const nodes = new Map<string, Node>([['none', { kind: 'none' }]]);
  const keys = new Set<string>();
  let quorum: string | undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the spec allows only tab and newline.
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text))
    throw new WitnessError('WITNESS_BAD_REQUEST', 'policy: control characters other than tab and newline');
  text.split('\n').forEach((raw, i) => {
    const bad = (why: string) => new WitnessError('WITNESS_BAD_REQUEST', `policy line ${i + 1}: ${why}`);
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [word, ...args] = line.split(/[ \t]+/);
    const parse = <T>(f: () => T): T => {
      try {
        return f();
      } catch (e) {
        throw bad((e as Error).message);
      }
    };
    const unique = (pub: Uint8Array) => {
      const k = Array.from(pub).join(',');
      if (keys.has(k)) throw bad('duplicate key');
      keys.add(k);
    };
    if (word === 'log') {
      if (args.length < 1 || args.length > 2) throw bad('want: log <vkey> [<url>]');
      const v = parse(() => parseVerifierKey(args[0] as string));
      unique(v.publicKey);
      logs.push(v);
    } else if (word === 'witness') {
      if (args.length < 2 || args.length > 3) throw bad('want: witness <name> <vkey> [<url>]');
      const [name, vkey, url] = args as [string, string, string?];
      if (nodes.has(name)) throw bad(`"${name}" is already defined`);
      const key = parse(() => parseCosignerKey(vkey));
      unique(key.publicKey);
      nodes.set(name, { kind: 'witness', key });
      witnesses.push({ name, key, ...(url ? { url } : {}) });
    } else if (word === 'group') {
      const [name, threshold, ...members] = args as [string, string, ...string[]];
      if (!name || !threshold || members.length === 0) throw bad('want: group <name> all|any|<k> <name>...');
      if (nodes.has(name)) throw bad(`"${name}" is already defined`);
      if (new Set(members).size !== members.length) throw bad('a member is listed twice');
      for (const m of members)
        if (m === 'none' || !nodes.has(m)) throw bad(`"${m}" is not a witness or group defined above`);
      const n = members.length;
      const k =
        threshold === 'all'
          ? n
          : threshold === 'any'
            ? 1
            : /^[1-9][0-9]*$/.test(threshold)
              ? Number(threshold)
              : 0;
      if (k < 1 || k > n) throw bad(`threshold must be all, any or 1..${n}`);
      nodes.set(name, { kind: 'group', k, members });
    } else if (word === 'quorum') {
      if (quorum !== undefined) throw bad('a second quorum line');
      if (args.length !== 1 || !nodes.has(args[0] as string))
        throw bad('quorum must name a witness, a group or none defined above');
      quorum = args[0] as string;
    } else throw bad(`unknown keyword "${word}"`);
    if (logs.length > MAX || witnesses.length > MAX || nodes.size > 2 * MAX + 1)
      throw bad('too many entries');
  });
  if (quorum === undefined) throw new WitnessError('WITNESS_BAD_REQUEST', 'policy: no quorum line');
  return { logs, witnesses, quorum, nodes };
}

/** A k-of-n policy over `witnesses` (the config's `witness_policy`), as a {@link WitnessPolicy}. */
export function thresholdPolicy(
  witnesses: readonly string[],
  k: number,
  logs: readonly string[] = [],
): WitnessPolicy {
  const lines = [
    ...logs.map((l) => `log ${l}`),
    ...witnesses.map((w, i) => `witness w${i} ${w}`),
    ...(k === 0
      ? ['quorum none']
      : [`group g ${k} ${witnesses.map((_, i) => `w${i}`).join(' ')}`, 'quorum g']),
  ];
  return parseWitnessPolicy(`${lines.join('\n')}\n`);
}

/** True when the witnesses named in `cosigned` (witness key names) satisfy the policy's quorum. */
export function quorumMet(policy: WitnessPolicy, cosigned: ReadonlySet<string>): boolean {
  const met = (name: string): boolean => {
    const n = policy.nodes.get(name);
    if (!n) return false;
    if (n.kind === 'none') return true;
    if (n.kind === 'witness') return cosigned.has(n.key.vkey);
    return n.members.filter(met).length >= n.k;
  };
  return met(policy.quorum);
}
