/**
 * net.cidr_* host builtins (OPA topdown/cidr.go) with Go's address parsing (net.ParseIP / net.ParseCIDR on
 * netip: dotted IPv4 without leading zeros, RFC 4291 §2.2 IPv6 text, no zones) and printing (RFC 5952 §4 for
 * IPv6; an IPv4-mapped address prints as IPv4).
 *
 * Addresses are 128-bit integers; IPv4 lives at ::ffff:0:0/96 as in OPA's merge code. Sets come back as
 * arrays in OPA's set order (the Wasm host ABI has no set results).
 */
import { asSet } from './go-value.js';
import type { HostBuiltin } from './host.js';

/** A parsed address: 128-bit value; `v4` when written as dotted IPv4 (Go's Is4). */
interface Addr {
  n: bigint;
  v4: boolean;
}

/** A network: first address and prefix length in the address's own family (32 for IPv4). */
interface Net {
  n: bigint;
  bits: number;
  v4: boolean;
  /** Go prints this network with its own (unmasked) IP: bare IPv4 operands of net.cidr_merge. */
  text?: string;
}

const V4_MAPPED = 0xffffn << 32n;
const ALL = (1n << 128n) - 1n;

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(p);
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  let text = s;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    // An embedded IPv4 suffix (RFC 4291 §2.2 form 3) stands for the last two groups.
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const group = (g: string) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? BigInt(`0x${g}`) : undefined);
  const read = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const gs = h.split(':').map(group);
    return gs.some((g) => g === undefined) ? undefined : (gs as bigint[]);
  };
  const head = read(halves[0]!);
  const rest = halves.length === 2 ? read(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    groups = [...head, ...Array<bigint>(8 - given).fill(0n), ...rest];
  } else {
    if (given !== 8) return undefined;
    groups = head;
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Go net.ParseIP (no zones). */
export function parseIp(s: string): Addr | undefined {
  if (!s.includes(':')) {
    const v4 = parseV4(s);
    return v4 === undefined ? undefined : { n: V4_MAPPED | v4, v4: true };
  }
  const n = parseV6(s);
  return n === undefined ? undefined : { n, v4: false };
}

const familyBits = (v4: boolean) => (v4 ? 32 : 128);
const hostMask = (bits: number, prefix: number) => (1n << BigInt(bits - prefix)) - 1n;

/** Go net.ParseCIDR: the masked network; undefined when invalid. */
export function parseCidr(s: string): Net | undefined {
  const slash = s.indexOf('/');
  if (slash === -1) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (!ip || !/^[0-9]{1,5}$/.test(len)) return undefined;
  const bits = Number(len);
  if (bits > familyBits(ip.v4)) return undefined;
  return { n: ip.n & ~hostMask(familyBits(ip.v4), bits) & ALL, bits, v4: ip.v4 };
}

const isMapped = (n: bigint) => n >> 32n === 0xffffn;

/** Go IP.String: dotted IPv4 for IPv4-mapped values, else RFC 5952 (longest zero run ≥ 2 groups → "::"). */
export function formatIp(n: bigint): string {
  if (isMapped(n)) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  const g = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  return best === -1 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Go IPNet.String for a network whose IP is `n` and prefix `bits` in its family. */
function formatNet(net: Net): string {
  if (net.text) return net.text;
  // A 16-byte IPv4-mapped network prints as IPv4 with the mask's last 32 bits.
  if (!net.v4 && isMapped(net.n) && net.bits >= 96) return `${formatIp(net.n)}/${net.bits - 96}`;
  return `${formatIp(net.n)}/${net.bits}`;
}

/** [first, last] of a network in the 128-bit space. */
function range(net: Net): [bigint, bigint] {
  const m = hostMask(familyBits(net.v4), net.bits);
  const first = net.n & ~m & ALL;
  return [first, first | m];
}

/** Go's classful default mask for a bare IPv4 operand (net.IP.DefaultMask). */
const classfulBits = (n: bigint) => {
  const a = Number((n >> 24n) & 0xffn);
  return a < 0x80 ? 8 : a < 0xc0 ? 16 : 24;
};

/** A net.cidr_merge operand: a CIDR, or a bare IPv4 address with its classful mask (IPv6 needs a prefix). */
function mergeOperand(x: unknown): Net | undefined {
  if (typeof x !== 'string') return undefined;
  const ip = parseIp(x);
  if (!ip) return parseCidr(x);
  if (!ip.v4) return undefined;
  const bits = classfulBits(ip.n);
  return { n: ip.n, bits, v4: true, text: `${x}/${bits}` };
}

/** The fewest CIDR blocks covering [first, last] (what OPA's RangeToCIDRs computes). */
function rangeToNets(first: bigint, last: bigint): Net[] {
  const v4 = isMapped(first);
  const bits = familyBits(v4);
  const out: Net[] = [];
  for (let a = first; a <= last; ) {
    let size = 0;
    while (
      size < bits &&
      (a & hostMask(bits, bits - size - 1)) === 0n &&
      a + hostMask(bits, bits - size - 1) <= last
    )
      size++;
    out.push({ n: a, bits: bits - size, v4 });
    a += 1n << BigInt(size);
  }
  return out;
}

/**
 * net.cidr_merge: merges overlapping and adjacent networks into the fewest CIDRs; a network not merged keeps
 * its own text. Undefined where OPA errs, panics or computes garbage: a non-string or bare IPv6 operand, an
 * IPv4-mapped IPv6 CIDR merged with anything, a merged range crossing from IPv4 into IPv6.
 */
function cidrMerge(xs: unknown): unknown {
  if (!Array.isArray(xs)) return undefined;
  const nets = xs.map(mergeOperand);
  if (nets.some((n) => n === undefined)) return undefined;
  if (nets.length > 1 && nets.some((n) => !n!.v4 && isMapped(n!.n) && n!.bits >= 96)) return undefined;
  type R = { first: bigint; last: bigint; net?: Net };
  const rs: R[] = (nets as Net[]).map((net) => {
    const [first, last] = range(net);
    return { first, last, net };
  });
  rs.sort((a, b) =>
    a.last !== b.last ? (a.last < b.last ? -1 : 1) : a.first < b.first ? -1 : a.first > b.first ? 1 : 0,
  );
  for (let i = rs.length - 1; i > 0; i--) {
    const cur = rs[i]!;
    const prevLast = rs[i - 1]!.last;
    // OPA's GetPreviousIP stays inside the IPv4 space and does not go below 0.0.0.0 or ::.
    const prev = cur.first === 0n || cur.first === V4_MAPPED ? cur.first : cur.first - 1n;
    if (prev <= prevLast) {
      let first = cur.first;
      if (rs[i - 1]!.first < first) first = rs[i - 1]!.first;
      rs.splice(i - 1, 2, { first, last: cur.last });
    }
  }
  const out: string[] = [];
  for (const r of rs) {
    if (r.net) out.push(formatNet(r.net));
    else {
      if (isMapped(r.first) !== isMapped(r.last)) return undefined;
      out.push(...rangeToNets(r.first, r.last).map(formatNet));
    }
  }
  return asSet(out);
}

/**
 * Does network `a` contain `b` (an address or a CIDR)? Go's IPNet.Contains compares only within one family,
 * and treats an IPv4-mapped address, or an IPv4-mapped network of prefix ≥ 96, as IPv4.
 */
function contains(a: Net, b: string): boolean | undefined {
  const [first, last] = range(a);
  const aIsV4 = a.v4 || (isMapped(first) && a.bits >= 96);
  const inA = (x: { n: bigint }) => aIsV4 === isMapped(x.n) && x.n >= first && x.n <= last;
  const ip = parseIp(b);
  if (ip) return inA(ip);
  const net = parseCidr(b);
  if (!net) return undefined;
  const [bf, bl] = range(net);
  return inA({ n: bf }) && inA({ n: bl });
}

/** The (cidr, key) pairs of a net.cidr_contains_matches operand: a string, or an array/set/object of strings or non-empty arrays. */
function matchOperand(x: unknown): [string, unknown][] | undefined {
  const cidrOf = (v: unknown): string | undefined =>
    typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
  if (typeof x === 'string') return [[x, x]];
  const entries: [unknown, unknown][] = Array.isArray(x)
    ? x.map((v, i) => [v, i])
    : typeof x === 'object' && x !== null
      ? Object.entries(x).map(([k, v]) => [v, k])
      : [];
  const out: [string, unknown][] = [];
  for (const [v, k] of entries) {
    const c = cidrOf(v);
    if (c === undefined) return undefined;
    out.push([c, k]);
  }
  return out;
}

/** Addresses net.cidr_expand will list; OPA has no limit but the query timeout, SIGIL refuses larger ranges. */
const MAX_EXPAND = 65_536n;

/** net.cidr_is_valid, net.cidr_merge, net.cidr_expand, net.cidr_contains_matches. */
export function netBuiltins(): Record<string, HostBuiltin> {
  return {
    'net.cidr_is_valid': (s: unknown) => typeof s === 'string' && parseCidr(s) !== undefined,
    'net.cidr_merge': cidrMerge,
    'net.cidr_expand': (s: unknown) => {
      const net = typeof s === 'string' ? parseCidr(s) : undefined;
      if (!net) return undefined;
      const [first, last] = range(net);
      if (last - first >= MAX_EXPAND) return undefined;
      const out: string[] = [];
      for (let a = first; a <= last; a++) out.push(formatIp(a));
      return asSet(out);
    },
    'net.cidr_contains_matches': (a: unknown, b: unknown) => {
      const as = matchOperand(a);
      const bs = matchOperand(b);
      if (!as || !bs) return undefined;
      const out: unknown[] = [];
      for (const [ca, ka] of as) {
        const net = parseCidr(ca);
        if (!net) return undefined;
        for (const [cb, kb] of bs) {
          const c = contains(net, cb);
          if (c === undefined) return undefined;
          if (c) out.push([ka, kb]);
        }
      }
      return asSet(out);
    },
  };
}
