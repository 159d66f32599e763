// Command upstream is the benchmark's HTTP upstream: it answers every request with 200 and a
// 2-byte body, and nothing else, so that it costs as little CPU as possible on the core it shares
// with Envoy and the load generator (measured behind Envoy at 1000 rps: ~65-75 µs CPU per request,
// a minimal node:http server ~110 µs; see bench/e2e/README.md).
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The harness reads the bound port from this first stdout line.
	fmt.Printf("listening %s\n", ln.Addr().String())
	body := []byte("ok")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Echo the identity header the authorizer added, so a run can prove it reached the upstream.
		if v := r.Header.Get("x-sigil-sub"); v != "" {
			w.Header().Set("x-seen-sub", strconv.Itoa(len(v)))
		}
		w.Header().Set("content-type", "text/plain")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	if err := http.Serve(ln, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
