// Command etcd is the etcd server, built from the pinned go.etcd.io/etcd/server/v3 module (its main
// package lives in the go.etcd.io/etcd/v3 root module, whose replace directives `go install` refuses).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
