/**
 * Loads configuration once at start-up: embedded defaults ← YAML file ← environment overrides.
 * Environment: `SIGIL__<SECTION>__<KEY>=value` (double underscore between levels), e.g.
 * `SIGIL__ISSUER__MAX_TTL=120`, plus `SIGIL_DATA` for the data dir. A value is parsed as YAML unless the
 * schema expects a string there: `SIGIL__AUTHZ__LISTEN=19191` stays the string `"19191"` (and then fails
 * as a listen address, not as "received number").
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { SigilError } from '../lib/errors.js';
import { configSchema, expectsString, type SigilConfig } from './schema.js';

/** Stable codes for configuration failures. */
export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_UNREADABLE' | 'CONFIG_LISTEN_FAILED';

/** A configuration error; the message names the key and the reason. */
export class ConfigError extends SigilError<ConfigErrorCode> {}

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** YAML file path; absent = embedded defaults only. */
  file?: string;
  /** Environment to read overrides from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Extra overrides applied last (e.g. CLI flags), as a partial `sigil:` object. */
  overrides?: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isRecord(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isRecord(v) && isRecord(b) ? deepMerge(b, v) : v;
  }
  return out;
}

/** The YAML mapping in `file` (`{}` when the file is empty). */
function readConfigFile(file: string): Record<string, unknown> {
  const fail = (code: ConfigErrorCode, e: unknown) =>
    new ConfigError(code, `config file ${file}: ${(e as Error).message}`, { cause: e });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fail('CONFIG_UNREADABLE', e);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw fail('CONFIG_INVALID', e);
  }
  if (doc === null || doc === undefined) return {};
  if (!isRecord(doc))
    throw new ConfigError('CONFIG_INVALID', `config file ${file}: top level must be a mapping`);
  return doc;
}

/** Reads, merges and validates configuration. Throws {@link ConfigError} naming the bad key. */
export function loadConfig(options: LoadConfigOptions = {}): SigilConfig {
  const env = options.env ?? process.env;
  const raw = options.file ? readConfigFile(options.file) : {};
  const fromEnv: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('SIGIL__') || value === undefined) continue;
    const path = name.slice('SIGIL__'.length).toLowerCase().split('__');
    let parsed: unknown = value;
    if (!expectsString(['sigil', ...path])) {
      try {
        parsed = parseYaml(value);
      } catch {
        // Not YAML: the schema reports the raw string against the key.
      }
    }
    setPath(fromEnv, ['sigil', ...path], parsed);
  }
  if (env.SIGIL_DATA) setPath(fromEnv, ['sigil', 'data_dir'], env.SIGIL_DATA);
  let merged = deepMerge(raw, fromEnv);
  if (options.overrides) merged = deepMerge(merged, { sigil: options.overrides });
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.map(String).join('.') || '(root)';
    throw new ConfigError('CONFIG_INVALID', `config ${key}: ${issue.message}`);
  }
  return result.data.sigil;
}
