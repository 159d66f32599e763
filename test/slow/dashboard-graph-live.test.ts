/** The delegation graph at scale (test/dashboard/support/graph-scale-suite.ts) with 30 s of live load at 400/s. */
import { graphScaleSuite } from '../dashboard/support/graph-scale-suite.js';

graphScaleSuite(30);
