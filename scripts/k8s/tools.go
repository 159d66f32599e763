//go:build tools

// Package tools records the main packages built from this module, so `go mod tidy` keeps their
// dependencies.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver/app"
