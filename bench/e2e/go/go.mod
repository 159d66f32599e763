// Benchmark-only Go binary for the end-to-end harness (bench/e2e.ts): a cheap HTTP upstream.
// The peer, opa-envoy-plugin, is the real binary (scripts/setup-tools.sh builds it from the peers' source).
module sigil.local/bench-e2e

go 1.26.0
