// Command devcluster starts a detached etcd + kube-apiserver for `make dev-up` and
// prints the admin kubeconfig's path; `make dev-down` stops them by the PIDs it leaves
// in the folder. The apiserver's token webhook (OpenIDConnect trust) is left to
// kyma-emulator: the folder holds its address (token-webhook.addr), certificate and key.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/kubectl-kyma/kubectl-kyma/internal/testcluster"
)

func main() {
	dir := flag.String("dir", ".dev/cluster", "folder for the cluster's state, logs and PID files")
	flag.Parse()
	c, err := testcluster.Start(context.Background(), *dir, testcluster.Options{Detach: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	fmt.Println(c.Kubeconfig)
}
