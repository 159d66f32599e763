/**
 * A throw-away mesh CA, a server certificate for 127.0.0.1 and client certificates whose URI SAN is a SPIFFE ID
 * (what Envoy reports as `source.principal`), made with the openssl CLI into a temp dir.
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

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function issue(dir: string, name: string, subject: string, san: string): CertFiles {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${san}\n`);
  openssl(
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      subject,
    ],
    dir,
  );
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
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=sigil-test-ca',
    ],
    dir,
  );
  const server = issue(dir, 'server', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  let n = 0;
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    server,
    client: (id) => issue(dir, `client${n++}`, '/CN=agent', `URI:${id}`),
    read: (f) => readFileSync(f),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
