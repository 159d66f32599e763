/**
 * `npm run bench:e2e` — SIGIL vs OPA ext_authz vs no authorization, behind one real Envoy 1.40.
 * `npm run bench:e2e:smoke` — the same harness with a tiny load (CI keeps it working; figures meaningless).
 *
 * Options: --smoke, --rounds N, --rates 250,500,1000, --rate-seconds S (default 8), --sustained-seconds S (per open-loop
 * rung, default 3; 0 skips the sustained-rate search), --configs none,sigil,sigil-fast,sigil-journal,sigil-depth3,sigil-w2,sigil-parallel-gc,opa (default:
 * all but sigil-w2, the 2-Check-worker SIGIL, which needs --authz-cpus 0,1 to have two CPUs, and sigil-parallel-gc,
 * the journal sidecar with V8's collector threads kept on one CPU),
 * --profile (node --cpu-prof on SIGIL, hot spots written per run), --pin split|none, --authz-cpus LIST (taskset list for the authorizer, e.g. 0,1), --nice=N (e.g. --nice=-5: run every measured process at that priority), --runner build|tsx, --node PATH (run SIGIL on that Node binary, e.g. /usr/bin/node for the 24-vs-20 comparison), --out DIR, --no-write (don't touch BENCHMARKS.md), --json (print the result JSON path only).
 * Exit status 1 when a correctness check failed (unexpected status, ledger growth mismatch).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setNice } from './e2e/lib/proc.js';
import { renderMarkdown, summarize } from './e2e/lib/report.js';
import { CONFIGS, type ConfigName, DEFAULT_CONFIGS, runAll } from './e2e/lib/run.js';
import { machineLine } from './e2e/lib/sampler.js';
import { TOKEN_TTL_S } from './e2e/lib/sigil.js';
import { cpuPlan, paths } from './e2e/lib/stack.js';
import { writeBenchmarksSection } from './lib/benchmarks-md.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    rates: { type: 'string' },
    'rate-seconds': { type: 'string' },
    'sustained-seconds': { type: 'string' },
    configs: { type: 'string' },
    pin: { type: 'string', default: 'split' },
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'skip-setup': { type: 'boolean', default: false },
    runner: { type: 'string' },
    nice: { type: 'string', default: '0' },
    profile: { type: 'boolean', default: false },
    node: { type: 'string' },
    'authz-cpus': { type: 'string' },
  },
});
if (values.node) {
  // Read by sigilCommand (bench/e2e/lib/sigil.ts); an unsupported runtime (Node 20) is let through on purpose.
  process.env.SIGIL_BENCH_NODE = resolve(values.node);
  process.env.SIGIL_ALLOW_UNSUPPORTED_NODE = '1';
}
const sigilNode = process.env.SIGIL_BENCH_NODE ?? process.execPath;
const sigilNodeVersion = execFileSync(sigilNode, ['--version']).toString().trim();

const smoke = values.smoke === true;
const p = paths(root);
if (!values['skip-setup']) {
  // Idempotent: only checks versions when everything is installed already.
  execFileSync('bash', [join(root, 'scripts', 'setup-tools.sh'), '--bench'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
for (const [what, file] of Object.entries({
  envoy: p.envoy,
  vegeta: p.vegeta,
  'opa-envoy-plugin': p.opaEnvoyPlugin,
  upstream: p.upstream,
})) {
  if (!existsSync(file))
    throw new Error(`${what} missing at ${file}: run bash scripts/setup-tools.sh --bench`);
}

// How SIGIL runs: `build` (default for the full run) compiles src/ with tsc into .tools/bench-build and
// runs plain node, as a deployment does; `tsx` (default for --smoke) runs the sources through tsx.
const runner = values.runner ?? (smoke ? 'tsx' : 'build');
if (runner === 'build' && !process.env.SIGIL_BENCH_CLI) {
  // Same layout as the package (<pkg>/dist/src/..., <pkg>/proto, ...) so asset lookups work unchanged.
  const pkg = join(root, '.tools', 'bench-build');
  const out = join(pkg, 'dist');
  mkdirSync(pkg, { recursive: true });
  for (const d of ['proto', 'policy', 'envoy', 'dashboard', 'package.json']) {
    if (existsSync(join(root, d)) && !existsSync(join(pkg, d))) symlinkSync(join(root, d), join(pkg, d));
  }
  process.stderr.write(
    '[bench:e2e] compiling SIGIL (tsc -p tsconfig.build.json) into .tools/bench-build/dist\n',
  );
  try {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
      {
        cwd: root,
        stdio: 'ignore',
      },
    );
  } catch {
    // tsc still emits when some file has type errors (others may be mid-edit); the start-up check catches real breakage.
  }
  process.env.SIGIL_BENCH_CLI = join(out, 'src', 'cli', 'main.js');
}
const sigilRunner = process.env.SIGIL_BENCH_CLI
  ? `node ${process.env.SIGIL_BENCH_CLI.replace(`${root}/`, '')} (compiled)`
  : 'node --import tsx src/cli/main.ts';

const configs = (values.configs ? values.configs.split(',') : [...DEFAULT_CONFIGS]) as ConfigName[];
for (const c of configs)
  if (!(CONFIGS as readonly string[]).includes(c))
    throw new Error(`unknown configuration ${c}; known: ${CONFIGS.join(', ')}`);
const rates = (values.rates ?? (smoke ? '100' : '250,500,1000')).split(',').map(Number);
// The bench's tokens are minted once per configuration run and live TOKEN_TTL_S: fixed-rate windows past that
// (after the warm-up, saturation and sustained phases) would measure expired-token denies, not the authorizer.
// 8 s per fixed rate by default: at 1000 rps a p99 then rests on 8000 samples, so one disk or scheduler stall
// on this shared VM (tens of ms, hitting every request in flight) moves p99.9, not the whole p99.
const rateS = Number(values['rate-seconds'] ?? (smoke ? 2 : 8));
const windowsS = rates.length * rateS;
if (windowsS > TOKEN_TTL_S - 60)
  throw new Error(
    `--rates × --rate-seconds = ${windowsS} s: the bench's tokens live ${TOKEN_TTL_S} s (sigil.issuer.max_ttl's ceiling) from the start of each configuration run; keep the fixed-rate windows of one configuration within ${TOKEN_TTL_S - 60} s`,
  );
const pin = values.pin === 'none' ? 'none' : 'split';
const niceLevel = Number(values.nice);
const niceHow = setNice(niceLevel);
const basePlan = cpuPlan(pin);
// --authz-cpus 0,1: the authorizer's taskset list instead of the plan's (a cores-scaling run gives it both CPUs).
const authzCpus = values['authz-cpus'];
const plan = {
  ...basePlan,
  ...(authzCpus ? { authorizer: authzCpus } : {}),
  describe: `${basePlan.describe}${authzCpus ? `; authorizer overridden to CPUs ${authzCpus} (--authz-cpus)` : ''}${niceHow ? `; ${niceHow}` : '; default priority (other work on the machine competes)'}`,
};
const outDir = resolve(
  values.out ?? join(root, 'test-artifacts', 'bench-e2e', new Date().toISOString().replace(/[:.]/g, '-')),
);
mkdirSync(outDir, { recursive: true });

const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const refRate = rates.includes(1000) ? 1000 : rates[rates.length - 1]!;
const run = await runAll({
  paths: p,
  outDir,
  rounds: Number(values.rounds ?? (smoke ? 1 : 3)),
  configs,
  rates,
  // SIGIL's first ~2 s after start are slow (JIT, lazy set-up): the warm-up keeps that out of every figure.
  warmupS: smoke ? 1 : 4,
  saturationS: smoke ? 2 : 5,
  rateS,
  saturationWorkers: smoke ? 16 : 64,
  // Open-loop rungs after saturation: 3 s each (smoke 1 s); a rung is held at p50 ≤ 10 ms.
  sustainedStepS: Number(values['sustained-seconds'] ?? (smoke ? 1 : 3)),
  sustainedP50Ms: 10,
  cpu: plan,
  profile: values.profile === true,
  // The least a durable decision waits on this disk at each fixed rate, measured in the same run
  // (bench/lib/durable-commit.ts).
  durableProbe: { rates, seconds: smoke ? 1 : 8 },
  log: (l) => process.stderr.write(`[bench:e2e] ${l}\n`),
});

const sum = summarize(run);
const command = smoke ? 'npm run bench:e2e:smoke' : 'npm run bench:e2e';
const md = renderMarkdown(run, sum, {
  machine: `${machineLine()}; SIGIL on Node.js ${sigilNodeVersion} (${sigilNode}); load average before the run: ${loadBefore}`,
  cpuPlan: plan.describe,
  command,
  refRate,
  sigilRunner,
});
writeFileSync(join(outDir, 'result.json'), JSON.stringify({ run, summary: sum }, null, 2));
writeFileSync(join(outDir, 'report.md'), md);
process.stdout.write(`${md}\n`);
process.stdout.write(`[bench:e2e] raw results: ${join(outDir, 'result.json')}\n`);
if (!smoke && !values['no-write']) {
  writeBenchmarksSection('End-to-end', md.replace(/^## End-to-end\s*\n/, ''), join(root, 'BENCHMARKS.md'));
  process.stdout.write('[bench:e2e] BENCHMARKS.md "## End-to-end" section updated\n');
}
const failed =
  run.failures.length > 0 || sum.some((s) => s.problems.length > 0 || s.ledger?.startsWith('MISMATCH'));
process.exitCode = failed ? 1 : 0;
