/**
 * Helpers shared by the token and key commands (keys, mint, delegate, verify, inspect, revoke):
 * reading a token argument (`-` = stdin), parsing JWK and list flags, opening the data dir's stores
 * and printing aligned tables.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { SigilConfig } from '../../config/index.js';
import {
  IssuerError,
  IssuerService,
  type IssuerStores,
  openIssuerStores,
  publicJwkSchema,
} from '../../issuer/index.js';
import type { Ed25519PublicJwk } from '../../token/api.js';
import { cliConfig, readStdin } from '../context.js';

/** A token argument: the token itself, or `-` to read it from stdin. Surrounding whitespace is dropped. */
export async function readTokenArg(arg: string): Promise<string> {
  return (arg === '-' ? await readStdin() : arg).trim();
}

/** `a,b, c` → ['a','b','c'] (empty entries dropped). */
export function parseList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

/**
 * A positive integer flag (seconds, depth). Flags stay strings until the command body runs, so a bad
 * value is reported by runCommand as `ISSUER_BAD_REQUEST: …` instead of escaping commander as a crash.
 */
export function positiveInt(s: string, what: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1) {
    throw new IssuerError(
      'ISSUER_BAD_REQUEST',
      `${what} must be a positive integer, got ${JSON.stringify(s)}`,
    );
  }
  return n;
}

/** A public JWK flag: inline JSON or `@path` to a JSON file. Private keys (`d`) are refused. */
export function parseJwkArg(s: string, what: string): Ed25519PublicJwk {
  let text = s;
  if (s.startsWith('@')) {
    try {
      text = readFileSync(s.slice(1), 'utf8');
    } catch (e) {
      throw new IssuerError('ISSUER_BAD_REQUEST', `${what}: cannot read ${s.slice(1)}`, e);
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new IssuerError('ISSUER_BAD_REQUEST', `${what} must be a JSON JWK or @file`, e);
  }
  const r = publicJwkSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new IssuerError(
      'ISSUER_BAD_REQUEST',
      `${what}: ${issue.path.map(String).join('.') || 'jwk'}: ${issue.message}`,
    );
  }
  return { kty: 'OKP', crv: 'Ed25519', x: r.data.x };
}

/** The config and the data dir's stores for a one-shot command (no file watching). */
export interface LocalContext {
  config: SigilConfig;
  stores: IssuerStores;
  service: IssuerService;
}

/** Opens the data dir for one CLI command. Call `ctx.stores.close()` when done. */
export async function openLocal(cmd: Command): Promise<LocalContext> {
  const config = cliConfig(cmd);
  const stores = await openIssuerStores(config, { watch: false });
  return { config, stores, service: new IssuerService({ config, ...stores }) };
}

/** Runs `fn` with an opened local context and closes it afterwards. */
export async function withLocal<T>(cmd: Command, fn: (ctx: LocalContext) => Promise<T> | T): Promise<T> {
  const ctx = await openLocal(cmd);
  try {
    return await fn(ctx);
  } finally {
    ctx.stores.close();
  }
}

/** Formats rows as an aligned text table (first row = header). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...c].length);
    });
  }
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length)))
      .join('  ')
      .trimEnd();
  const [head, ...body] = rows;
  if (!head) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** NumericDate seconds or epoch ms → ISO 8601 without milliseconds. */
export function isoTime(t: number, unit: 's' | 'ms' = 's'): string {
  return new Date(unit === 's' ? t * 1000 : t).toISOString().replace('.000Z', 'Z');
}

/** Prints `value` as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
