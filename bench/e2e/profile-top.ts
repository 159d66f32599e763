/**
 * Prints the hottest functions of a V8 .cpuprofile (node --cpu-prof).
 * Usage: tsx bench/e2e/profile-top.ts FILE [N=25] [SKIP_SECONDS=0]
 */
import { profileTop } from './lib/profile.js';

const [file, n, skip] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx bench/e2e/profile-top.ts FILE.cpuprofile [N] [SKIP_SECONDS]');
console.log(profileTop(file, Number(n ?? 25), Number(skip ?? 0)));
