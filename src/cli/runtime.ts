/**
 * Which Node.js runtimes SIGIL runs on, and the start-up check that refuses any other (issue #27).
 *
 * Imports nothing but node:process so that src/cli/main.ts can run it before loading the rest of the CLI:
 * a module that does not link on an old runtime (a missing built-in export, newer syntax) must not turn the
 * refusal into an unrelated crash. Node 20 is end of life (2026-04-30); 23 and 25 are short-lived odd
 * releases; a future major is untested until the project moves to it.
 */
import process from 'node:process';

/** The supported range, as in package.json `engines.node` (a test keeps the two equal). */
export const SUPPORTED_NODE = '^22.19.0 || ^24.0.0';

/** Stable error code of a refused runtime (stderr `NODE_UNSUPPORTED: …`). */
export const NODE_UNSUPPORTED = 'NODE_UNSUPPORTED';

/** Exit status of a refused runtime: sysexits(3) EX_CONFIG, distinct from a command's 1 and an internal 2. */
export const NODE_UNSUPPORTED_EXIT = 78;

/**
 * Operator override: `SIGIL_ALLOW_UNSUPPORTED_NODE=1` starts anyway with a warning. Meant for measuring a
 * runtime SIGIL does not support (bench/ runs SIGIL under Node 20 for the 24-vs-20 comparison) or trying
 * the next major before the project moves; never for production.
 */
export const ALLOW_UNSUPPORTED_NODE_ENV = 'SIGIL_ALLOW_UNSUPPORTED_NODE';

/** True when Node.js `version` (e.g. `24.22.3`, with or without a leading `v`) is in {@link SUPPORTED_NODE}. */
export function isSupportedNode(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  // 22.19: the oldest 22 that @kubernetes/client-node 2.x (the operator) supports; 24: the active LTS the
  // project is built, tested and shipped on.
  return (major === 22 && minor >= 19) || major === 24;
}

/**
 * The refusal message for `version` (the `NODE_UNSUPPORTED: …` line, without newline), or undefined when the
 * runtime is supported or the override is set; `warn` receives the override's warning.
 */
export function nodeRefusal(
  version: string,
  execPath: string,
  env: Record<string, string | undefined>,
  warn: (line: string) => void = () => {},
): string | undefined {
  if (isSupportedNode(version)) return undefined;
  const what = `Node.js ${version.startsWith('v') ? version : `v${version}`} (${execPath})`;
  if (env[ALLOW_UNSUPPORTED_NODE_ENV] === '1') {
    warn(`sigil: WARNING: running on unsupported ${what}: ${ALLOW_UNSUPPORTED_NODE_ENV}=1 is set`);
    return undefined;
  }
  return (
    `${NODE_UNSUPPORTED}: SIGIL runs on Node.js ${SUPPORTED_NODE} (24 LTS recommended); this is ${what}. ` +
    'From a checkout, `npm start` runs it on the pinned Node 24 it installs into .tools/node24 ' +
    '(scripts/node.sh); elsewhere install Node.js 24.'
  );
}

/** Exits the process with {@link NODE_UNSUPPORTED_EXIT} and the refusal on stderr unless the runtime is supported. */
export function requireSupportedNode(): void {
  const refusal = nodeRefusal(process.versions.node, process.execPath, process.env, (l) =>
    process.stderr.write(`${l}\n`),
  );
  if (refusal === undefined) return;
  process.stderr.write(`${refusal}\n`);
  process.exit(NODE_UNSUPPORTED_EXIT);
}
