/** The echo upstream (what the agent behind Envoy saw), shared with `sigil demo`. */
export { type EchoUpstream, type SeenRequest, startEchoUpstream } from '../../src/demo/index.js';
