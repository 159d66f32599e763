/** `sigil.admin`, `sigil.validator` and `sigil.policy` → the dashboard API `sigil serve` mounts on the admin server. */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type AdminApiHandler, createAdminApi } from '../admin/index.js';
import { ConfigError } from '../config/index.js';
import { writeFileAtomic } from '../lib/atomic-write.js';
import type { Clock } from '../lib/clock.js';
import { PolicyEngine } from '../policy/index.js';
import { policyEngineOptions } from './policy-options.js';
import type { SigilParts } from './start-sigil.js';

/**
 * Starts the dashboard API for the running parts. The policy view uses the Check path's engine, so what it shows,
 * evaluates and uploads is the policy in force; only when `parts.policy` is absent does it start an engine of its
 * own on the configured bundle, closed with the handler. Without `sigil.admin.token` a random
 * one is generated for this process and written to {@link adminTokenPath} (mode 0600); only that path and the
 * dashboard URL are logged, never the token (the config schema's behaviour).
 */
export async function dashboardFromConfig(
  parts: Pick<SigilParts, 'config' | 'logger' | 'ledger' | 'issuer' | 'policy'> & { adminUrl?: string },
  o: { clock?: Clock; dashboardDir?: string } = {},
): Promise<AdminApiHandler> {
  const { config } = parts;
  const options = policyEngineOptions(config);
  const own =
    options && !parts.policy
      ? await PolicyEngine.start({ ...options, logger: parts.logger, clock: o.clock })
      : undefined;
  const engine = parts.policy?.engine ?? own;
  const { listen } = config.admin;
  let adminToken = config.admin.token;
  if (adminToken === undefined) {
    adminToken = randomBytes(24).toString('base64url');
    const tokenFile = writeAdminToken(config.data_dir, adminToken);
    parts.logger.warn(
      {
        dashboard: `${parts.adminUrl ?? `http://${listen}`}/#token=<contents of token_file>`,
        token_file: tokenFile,
      },
      'sigil.admin.token is not set: generated a one-off admin token for this process into token_file (mode 0600)',
    );
  }
  const host = listen.startsWith('unix:') ? 'unix' : listen.replace(/:\d+$/, '');
  if (!['127.0.0.1', 'localhost', '[::1]', 'unix'].includes(host) && !host.startsWith('127.')) {
    parts.logger.warn(
      { listen },
      'the admin API (dashboard, policy upload) listens beyond loopback: keep sigil.admin.token secret and the port firewalled',
    );
  }
  const api = createAdminApi({
    adminToken,
    connectSrc: config.admin.connect_src,
    ...(o.dashboardDir ? { dashboardDir: o.dashboardDir } : {}),
    ledger: parts.ledger,
    tokens: {
      trust: parts.issuer.stores.trust,
      maxChainDepth: config.validator.max_chain_depth,
      maxTtl: config.issuer.max_ttl,
      clockSkew: config.validator.clock_skew,
    },
    ...(engine && options
      ? {
          policy: {
            engine,
            entrypoint: options.entrypoint,
            // Replays of candidates get the same evaluation budget as Checks (and `sigil policy replay`).
            evalTimeoutMs: config.policy.eval_timeout_ms,
          },
        }
      : {}),
    clock: o.clock,
  });
  if (own) {
    const close = api.close;
    api.close = () => {
      close();
      void own.close();
    };
  }
  return api;
}

/** Where `sigil serve` writes the admin token it generates when `sigil.admin.token` is not set. */
export function adminTokenPath(dataDir: string): string {
  return join(dataDir, 'admin-token');
}

/**
 * Replaces the generated-token file atomically (temp file created exclusively with mode 0600, then renamed; a
 * symlink at the path is replaced, not followed), then checks the result: a file other users could read would
 * leak an admin credential, so anything but a regular 0600 file owned by this process's user fails start-up
 * (CONFIG_INVALID: the data dir is not private).
 */
function writeAdminToken(dataDir: string, token: string): string {
  const path = adminTokenPath(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(path, `${token}\n`, 0o600);
  const st = lstatSync(path);
  if (!st.isFile() || (st.mode & 0o777) !== 0o600 || (process.getuid && st.uid !== process.getuid())) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `config sigil.data_dir: ${path} is not a regular 0600 file of this user`,
    );
  }
  return path;
}
