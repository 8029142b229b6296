// etcd, built from the upstream go.etcd.io/etcd/server/v3 module: the same
// main as upstream's server/main.go. See ../update-modules.sh.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
