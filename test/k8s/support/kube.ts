/**
 * Talking to the test cluster: manifests from deploy/ applied as they are, ServiceAccount tokens from the real
 * TokenRequest API (so the operator runs with exactly the RBAC of deploy/operator/rbac.yaml), kubeconfig files,
 * and waits on conditions.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  type CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const DEPLOY = join(ROOT, 'deploy');
/** The operator's namespace (deploy/operator) and where the tests put their custom resources. */
export const NS = 'sigil-system';
/** Group, version and namespace of the custom resources. */
export const CR = { group: 'sigil.dev', version: 'v1alpha1', namespace: NS };
const KIND: Record<string, string> = {
  sigilpolicies: 'SigilPolicy',
  sigiltrusts: 'SigilTrust',
  sigilrevocations: 'SigilRevocation',
};

/** Creates the custom resource `plural/name` with `spec` in {@link NS}. */
export function createCr(
  api: CustomObjectsApi,
  plural: string,
  name: string,
  spec: unknown,
): Promise<unknown> {
  return api.createNamespacedCustomObject({
    ...CR,
    plural,
    body: { apiVersion: 'sigil.dev/v1alpha1', kind: KIND[plural], metadata: { name }, spec },
  });
}

/** Every `.yaml`/`.yml` file under `dir`, sorted. */
export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e)) out.push(p);
  }
  return out;
}

/** The documents of a YAML file (empty ones dropped). */
export function readManifests(file: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => d !== null && typeof d === 'object');
}

/** An API call as raw JSON: manifests go to the server as written (client-node's typed serializer would drop
 * members it knows under another name, such as `x-kubernetes-validations` and `default` in a CRD schema). */
export async function rawRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<unknown> {
  const { request } = await import('node:https');
  const opts: import('node:https').RequestOptions = { method, headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  if (data) Object.assign(opts.headers as object, { 'content-type': contentType });
  return new Promise((resolve, reject) => {
    const req = request(`${kc.getCurrentCluster()!.server}${path}`, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) resolve(text === '' ? undefined : JSON.parse(text));
        else reject(new ApiException(code, `HTTP ${code}`, text, res.headers as Record<string, string>));
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** The REST collection path of `obj`'s kind (from the server's discovery documents). */
async function collectionOf(kc: KubeConfig, obj: KubernetesObject): Promise<string> {
  const base = obj.apiVersion?.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const list = (await rawRequest(kc, 'GET', base)) as {
    resources: Array<{ name: string; kind: string; namespaced: boolean }>;
  };
  const r = list.resources.find((x) => x.kind === obj.kind && !x.name.includes('/'));
  if (r === undefined) throw new Error(`${obj.apiVersion} ${obj.kind} is not served`);
  const ns = obj.metadata?.namespace ?? 'default';
  return r.namespaced ? `${base}/namespaces/${ns}/${r.name}` : `${base}/${r.name}`;
}

/** Creates `obj` (or, with `dryRun`, has the server validate and admit it without storing it). */
export async function create(
  kc: KubeConfig,
  obj: KubernetesObject,
  dryRun = false,
): Promise<KubernetesObject> {
  const path = await collectionOf(kc, obj);
  return (await rawRequest(kc, 'POST', `${path}${dryRun ? '?dryRun=All' : ''}`, obj)) as KubernetesObject;
}

/**
 * Server-side apply of `obj` (the server merges by field ownership), with `dryRun` validated and
 * admitted without being stored. Works whether or not the object exists.
 */
export async function apply(
  kc: KubeConfig,
  obj: KubernetesObject,
  dryRun = false,
): Promise<KubernetesObject> {
  const path = `${await collectionOf(kc, obj)}/${obj.metadata?.name}?fieldManager=sigil-test&force=true`;
  // JSON is YAML: the apply-patch content type takes either.
  return (await rawRequest(
    kc,
    'PATCH',
    `${path}${dryRun ? '&dryRun=All' : ''}`,
    obj,
    'application/apply-patch+yaml',
  )) as KubernetesObject;
}

/** Creates every object of the files, in order. */
export async function applyFiles(kc: KubeConfig, files: string[]): Promise<void> {
  for (const f of files) for (const o of readManifests(f)) await create(kc, o);
}

/** The HTTP status of a failed API call, and its message (for asserting server-side refusals). */
export async function refusal(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiException) {
      const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
      let message = body;
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {}
      return { status: e.code, message };
    }
    throw e;
  }
  throw new Error('expected the API server to refuse the call');
}

/** Polls `probe` until it returns a value other than undefined, or throws after `ms`. */
export async function eventually<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms (last error: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Applies deploy/crds and waits until the API server serves every CRD (Established). */
export async function installCrds(kc: KubeConfig): Promise<void> {
  const files = yamlFiles(join(DEPLOY, 'crds')).filter((f) => !f.endsWith('kustomization.yaml'));
  await applyFiles(kc, files);
  for (const f of files)
    for (const crd of readManifests(f))
      await eventually(`CRD ${crd.metadata?.name} established`, 30_000, async () => {
        const got = (await rawRequest(
          kc,
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata?.name}`,
        )) as KubernetesObject & { status?: { conditions?: Array<{ type: string; status: string }> } };
        return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
          ? true
          : undefined;
      });
}

/** A token for ServiceAccount `ns/name` from the TokenRequest API (signed by the apiserver's SA key). */
export async function serviceAccountToken(kc: KubeConfig, ns: string, name: string): Promise<string> {
  const r = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace: ns,
    name,
    body: { spec: { expirationSeconds: 3600, audiences: [] } },
  });
  return r.status?.token ?? '';
}

/** A KubeConfig (and its file, for child processes) for `server` as the bearer of `token`. */
export function kubeConfigFor(
  server: string,
  caPem: string,
  token: string,
  file?: string,
): { kc: KubeConfig; file?: string } {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server, caData: Buffer.from(caPem).toString('base64') }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'u' }],
    currentContext: 'test',
  });
  if (file !== undefined) writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return { kc, ...(file !== undefined ? { file } : {}) };
}

/** A path relative to the repository, for test names. */
export const rel = (p: string): string => relative(ROOT, p);
