/**
 * A throw-away mesh CA, a server certificate for 127.0.0.1 and client certificates whose URI SAN is a SPIFFE ID
 * (what Envoy reports as `source.principal`), made with the openssl CLI into a temp dir. The CA and issuing
 * steps are exported for other test PKIs (test/k8s/support/cluster.ts: the control plane's CA).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of one certificate. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** A test PKI. */
export interface TestPki {
  dir: string;
  ca: string;
  server: CertFiles;
  /** Issues a client certificate with `URI:<spiffeId>` as its SAN. */
  client(spiffeId: string): CertFiles;
  /** PEM contents, for node:https options. */
  read(file: string): Buffer;
  dispose(): void;
}

/** Runs the openssl CLI in `cwd` (output kept for the error of a failed run). */
export function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** `openssl req` arguments for a new unencrypted EC P-256 key written to `keyFile`. */
const NEW_KEY = (keyFile: string) => [
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:P-256',
  '-nodes',
  '-keyout',
  keyFile,
];

/** Makes a self-signed CA (EC P-256, 1 day) as `ca.pem`/`ca.key` in `dir`; returns the certificate's path. */
export function createCa(dir: string, commonName: string): string {
  openssl(
    ['req', '-x509', ...NEW_KEY('ca.key'), '-out', 'ca.pem', '-days', '1', '-subj', `/CN=${commonName}`],
    dir,
  );
  return join(dir, 'ca.pem');
}

/**
 * Issues `<name>.pem`/`<name>.key` in `dir`, signed by the {@link createCa} CA there (EC P-256, 1 day), with
 * `san` (openssl syntax: `IP:…,DNS:…`, `URI:…`) and optional extended key usages (`serverAuth`, `clientAuth`).
 */
export function issueCert(
  dir: string,
  name: string,
  subject: string,
  san: string,
  extendedKeyUsage: string[] = [],
): CertFiles {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  const eku = extendedKeyUsage.length > 0 ? `extendedKeyUsage=${extendedKeyUsage.join(',')}\n` : '';
  writeFileSync(ext, `subjectAltName=${san}\n${eku}`);
  openssl(['req', '-new', ...NEW_KEY(key), '-out', csr, '-subj', subject], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '1',
      '-extfile',
      ext,
    ],
    dir,
  );
  return { cert, key };
}

/** Creates the CA and the server certificate. */
export function testPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-pki-'));
  const ca = createCa(dir, 'sigil-test-ca');
  const server = issueCert(dir, 'server', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  let n = 0;
  return {
    dir,
    ca,
    server,
    client: (id) => issueCert(dir, `client${n++}`, '/CN=agent', `URI:${id}`),
    read: (f) => readFileSync(f),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
