/**
 * Shared CLI plumbing: global options (--data, --config) → validated config, a uniform way to fail,
 * argument parsing (`-` = stdin, lists, JWKs), the data dir's issuer stores, and output helpers.
 * Every command module exports `register(program)`.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, type SigilConfig } from '../config/index.js';
import {
  IssuerError,
  IssuerService,
  type IssuerStores,
  openIssuerStores,
  parseRequest,
  publicJwkSchema,
} from '../issuer/index.js';
import type { LifecycleRecord, MerkleLogOptions } from '../ledger/index.js';
import { SigilError } from '../lib/errors.js';
import type { OnLifecycle } from '../lib/lifecycle-event.js';
import { issuerOptions, lifecycleEntry, recordLifecycle } from '../serve/index.js';
import { migrationLog } from '../serve/migration-log.js';
import type { Ed25519PublicJwk } from '../token/api.js';

/** Global options every command sees. */
interface GlobalOptions {
  data?: string;
  config?: string;
}

/** Loads the validated config for a command, honouring --data and --config, then `overrides` (other flags). */
export function cliConfig(cmd: Command, overrides: Record<string, unknown> = {}): SigilConfig {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const all = { ...(opts.data ? { data_dir: opts.data } : {}), ...overrides };
  return loadConfig({
    ...(opts.config ? { file: opts.config } : {}),
    ...(Object.keys(all).length > 0 ? { overrides: all } : {}),
  });
}

/**
 * Runs a command body; a SigilError prints `CODE: message` on stderr and exits 1; anything else
 * exits 2 as an internal error.
 */
export async function runCommand(body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof SigilError) {
      process.stderr.write(`${e.code}: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`INTERNAL: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 2;
    }
  }
}

/** Reads all of stdin as UTF-8 (for `-` arguments). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

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

/** An `--aud a,b` flag as the issuer requests take it: one string, or a list of several. */
export function parseAud(s: string): string | string[] {
  const aud = parseList(s);
  return aud.length === 1 ? aud[0]! : aud;
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
  return { kty: 'OKP', crv: 'Ed25519', x: parseRequest(publicJwkSchema, doc, what, 'jwk').x };
}

/** The config and the data dir's stores for a one-shot command (no file watching). */
export interface LocalContext {
  config: SigilConfig;
  stores: IssuerStores;
  service: IssuerService;
}

/**
 * Runs `fn` in {@link runCommand} with the data dir's stores opened for one CLI command (no file
 * watching), and closes them afterwards.
 */
export function withLocal(cmd: Command, fn: (ctx: LocalContext) => Promise<void> | void): Promise<void> {
  return runCommand(async () => {
    const config = cliConfig(cmd);
    const options = issuerOptions(config);
    // What this command does to tokens and keys goes to the ledger (docs/ledger.md §4 "One sequencer").
    const entries: LifecycleRecord[] = [];
    const onLifecycle: OnLifecycle = (e) => entries.push(lifecycleEntry(e, Date.now()));
    const stores = await openIssuerStores(options, { watch: false, onLifecycle, via: 'cli' });
    let failed = false;
    try {
      await fn({ config, stores, service: new IssuerService({ options, ...stores, onLifecycle }) });
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      stores.close();
      // Recorded even when the command failed after a step that took effect (e.g. a key made first).
      await recordLifecycle(config, entries, { onMigration: migrationProgress() }).catch((e: unknown) => {
        if (!failed) throw e;
      });
    }
  });
}

/**
 * Progress of a format-3 ledger migration a command's writable open runs, as the lines `sigil serve` logs,
 * on stderr (stdout is the command's result): docs/ledger.md §2 "Format 3 and the migration".
 */
export const migrationProgress = (): MerkleLogOptions['onMigration'] =>
  migrationLog((fields, msg) => process.stderr.write(`${msg} ${JSON.stringify(fields)}\n`));

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

/** `--json`: prints `value` as JSON; otherwise prints the `text` lines. */
export function printResult(json: boolean | undefined, value: unknown, text: () => string): void {
  if (json) printJson(value);
  else process.stdout.write(`${text()}\n`);
}
