/** Free ports for tests (re-exported from the serve module the demo uses too). */
export { freePorts } from '../../src/demo/index.js';
