// Command etcd is etcd's own server, built from the Go module proxy so the tests need
// no download of a prebuilt binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
