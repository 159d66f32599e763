/**
 * `sigil demo` (src/cli/commands/demo.ts): a real Envoy + SIGIL + an echo agent on free ports. The Envoy runner,
 * the echo upstream and the port finder are also what the end-to-end tests and benchmarks start.
 */
export { type EchoUpstream, type SeenRequest, startEchoUpstream } from './echo-upstream.js';
export { type EnvoyPorts, type EnvoyProcess, envoyBinary, startEnvoy } from './envoy-process.js';
export { freePorts } from './free-port.js';
export { DemoError, type DemoResult, runDemo } from './run-demo.js';
