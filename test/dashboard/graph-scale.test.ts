/**
 * The delegation graph at scale in Chromium (support/graph-scale-suite.ts) with a 10 s live run at 400
 * decisions/s; the 30 s run is test/slow/dashboard-graph-live.test.ts.
 */
import { graphScaleSuite } from './support/graph-scale-suite.js';

graphScaleSuite(10);
