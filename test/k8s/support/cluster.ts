/**
 * A real control plane on loopback for test/k8s: etcd (temp data dir) and kube-apiserver (built by
 * scripts/setup-k8s.sh into .tools/bin) with serving and client certificates made at start, a static-token admin
 * in system:masters, RBAC authorization, the ServiceAccount token flags it requires and the default admission
 * plugins (which include MutatingAdmissionWebhook). No kubelet, scheduler or controller-manager: pods are
 * stored, never run. One cluster per test file (start in beforeAll, stop in afterAll).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { freePorts } from '../../support/ports.js';
import { type CertFiles, createCa, issueCert, openssl } from '../../support/tls.js';
import { kubeConfigFor } from './kube.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, '.tools/bin');

/** A running etcd + kube-apiserver. */
export interface Cluster {
  /** https://127.0.0.1:<port> */
  server: string;
  /** PEM of the CA that signed the apiserver's serving certificate (also the test's webhook CA). */
  caPem: string;
  /** Path of that CA's certificate and key, to issue more certificates (the operator's). */
  caFile: string;
  caKeyFile: string;
  dir: string;
  /** A KubeConfig for the admin (static token, group system:masters). */
  admin(): KubeConfig;
  /** Issues a serving certificate for 127.0.0.1/localhost signed by the cluster CA; returns file paths. */
  issueServingCert(name: string): CertFiles;
  /** apiserver + etcd output so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

/** A certificate signed by the cluster CA in `dir`, for both ends of TLS (the apiserver is both). */
const signed = (dir: string, name: string, subject: string, san: string): CertFiles =>
  issueCert(dir, name, subject, san, ['serverAuth', 'clientAuth']);

/** Spawns `bin` with `args`, collecting output into `sink`. */
function run(bin: string, args: string[], sink: { text: string }, tag: string): ChildProcess {
  const child = spawn(join(BIN, bin), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer) => {
    sink.text += `[${tag}] ${d.toString()}`;
    // Keep the tail only: the apiserver is chatty and a test file may run for minutes.
    if (sink.text.length > 400_000) sink.text = sink.text.slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** Polls `probe` every 200 ms until it resolves true, or throws after `ms`. */
async function waitFor(what: string, ms: number, probe: () => Promise<boolean>, logs: () => string) {
  const deadline = Date.now() + ms;
  for (;;) {
    let exited = false;
    if (
      await probe().catch((e: Error) => {
        exited = e.message.endsWith('exited');
        return false;
      })
    )
      return;
    if (exited) throw new Error(`${what} exited:\n${logs().slice(-6000)}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready in ${ms} ms:\n${logs().slice(-6000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts etcd and kube-apiserver on free loopback ports and waits for /readyz. */
export async function startCluster(): Promise<Cluster> {
  for (const bin of ['etcd', 'kube-apiserver'])
    if (!existsSync(join(BIN, bin)))
      throw new Error(
        `.tools/bin/${bin} is missing: run bash scripts/setup-k8s.sh (or scripts/setup-tools.sh)`,
      );
  const dir = mkdtempSync(join(tmpdir(), 'sigil-k8s-'));
  const [etcdClient, etcdPeer, apiPort] = (await freePorts(3)) as [number, number, number];
  createCa(dir, 'sigil-k8s-test-ca');
  const serving = signed(dir, 'apiserver', '/CN=kube-apiserver', 'IP:127.0.0.1,DNS:localhost');
  // ServiceAccount token signing key (the apiserver requires one; tokens are never used to run pods here).
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${token},sigil-test-admin,uid-admin,"system:masters"\n`);

  const sink = { text: '' };
  const etcd = run(
    'etcd',
    [
      '--name=test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=test=http://127.0.0.1:${etcdPeer}`,
      // A throw-away store in a temp dir: fsync buys nothing and costs seconds on a busy disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    sink,
    'etcd',
  );
  const logs = () => sink.text;
  let api: ChildProcess | undefined;
  const stop = async () => {
    if (api) await stopChild(api);
    await stopChild(etcd);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'etcd',
      30_000,
      async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok,
      logs,
    );
    api = run(
      'kube-apiserver',
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--tls-cert-file=${serving.cert}`,
        `--tls-private-key-file=${serving.key}`,
        `--client-ca-file=${join(dir, 'ca.pem')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--anonymous-auth=false',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        // The defaults include MutatingAdmissionWebhook; named so a changed default cannot drop it silently.
        '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
        '--allow-privileged=true',
        // The kubernetes Service's endpoints would name 127.0.0.1, which the reconciler refuses; nothing here
        // routes through that Service.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        '--v=0',
      ],
      sink,
      'apiserver',
    );
    const ca = readFileSync(join(dir, 'ca.pem'));
    await waitFor(
      'kube-apiserver',
      90_000,
      async () => {
        if (api?.exitCode !== null) throw new Error('kube-apiserver exited');
        const { Agent, request } = await import('node:https');
        return new Promise<boolean>((res) => {
          const req = request(
            `https://127.0.0.1:${apiPort}/readyz`,
            { ca, headers: { authorization: `Bearer ${token}` }, agent: new Agent({ keepAlive: false }) },
            (r) => {
              r.resume();
              res(r.statusCode === 200);
            },
          );
          req.on('error', () => res(false));
          req.end();
        });
      },
      logs,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  const server = `https://127.0.0.1:${apiPort}`;
  const caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  return {
    server,
    caPem,
    caFile: join(dir, 'ca.pem'),
    caKeyFile: join(dir, 'ca.key'),
    dir,
    admin: () => kubeConfigFor(server, caPem, token).kc,
    issueServingCert: (name) => signed(dir, name, `/CN=${name}`, 'IP:127.0.0.1,DNS:localhost'),
    logs,
    stop,
  };
}
