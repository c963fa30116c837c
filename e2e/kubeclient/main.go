// Command kubeclient stands in for kubectl in the Windows end-to-end test: a client-go
// program, built for Windows and run under Wine, that authenticates through a
// kubeconfig's exec stanza (kubectl-kyma.exe, found on PATH through PATHEXT) and prints
// who the cluster says it is. Building kubectl itself for Windows would take minutes;
// this exercises the same client-go exec plugin code in seconds.
//
// usage: kubeclient KUBECONFIG [ATTEMPTS]
//
// With ATTEMPTS above 1 it asks again after a 401 in the same process, as kubectl's
// next request would: client-go runs the plugin again only after the server refused
// its token.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("usage: kubeclient KUBECONFIG [ATTEMPTS]")
	}
	attempts := 1
	if len(args) == 2 {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return fmt.Errorf("ATTEMPTS is a positive number, not %q", args[1])
		}
		attempts = n
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", args[0])
	if err != nil {
		return fmt.Errorf("load %s: %w", args[0], err)
	}
	client, err := authclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for i := 1; ; i++ {
		r, err := client.SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err == nil {
			fmt.Println(r.Status.UserInfo.Username)
			return nil
		}
		if !apierrors.IsUnauthorized(err) || i == attempts {
			return fmt.Errorf("who am I (attempt %d): %w", i, err)
		}
		fmt.Fprintf(os.Stderr, "attempt %d: %v\n", i, err)
	}
}
