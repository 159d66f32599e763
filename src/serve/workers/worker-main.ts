/** Entry point of a Check worker process, forked by the primary's pool (pool.ts). */
import { runCheckWorker } from './worker.js';

runCheckWorker();
