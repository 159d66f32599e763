/**
 * One durable-commit probe for bench:e2e (bench/lib/durable-commit.ts), run as its own process so the harness
 * can pin it like the authorizer. Usage: tsx bench/e2e/durable-probe.ts DIR RATE SECONDS; prints one JSON line.
 */
import { probeDurableCommits } from '../lib/durable-commit.js';

const [dir, rate, seconds] = process.argv.slice(2);
if (!dir || !(Number(rate) > 0) || !(Number(seconds) > 0))
  throw new Error('usage: tsx bench/e2e/durable-probe.ts DIR RATE SECONDS');
process.stdout.write(`${JSON.stringify(await probeDurableCommits(dir, Number(rate), Number(seconds)))}\n`);
