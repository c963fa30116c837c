// Command longclient is a long-lived Kubernetes client for the end-to-end tests: one
// client-go REST client, built once from a kubeconfig (the exec credential stanza that
// `kubectl kyma kubeconfig` writes), sends a request every -interval for -duration, as
// k9s, a controller or `kubectl logs -f` would, and prints a JSON summary: how many
// requests, how many failed, and how slow the slowest one after the first was.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Summary is what the tests read.
type Summary struct {
	Requests int `json:"requests"`
	Failures int `json:"failures"`
	// Slowest is the slowest request after the first, in milliseconds.
	Slowest int64 `json:"slowestMs"`
	// Slow counts the requests after the first that took longer than -slow.
	Slow   int      `json:"slow"`
	Errors []string `json:"errors,omitempty"`
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig with the exec credential")
	duration := flag.Duration("duration", time.Minute, "how long to keep sending requests")
	interval := flag.Duration("interval", 500*time.Millisecond, "time between requests")
	slow := flag.Duration("slow", time.Second, "a request after the first that takes longer counts as slow")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	cfg.Timeout = 30 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	var s Summary
	end := time.Now().Add(*duration)
	for first := true; time.Now().Before(end); first = false {
		start := time.Now()
		_, err := client.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{})
		took := time.Since(start)
		s.Requests++
		if err != nil {
			s.Failures++
			s.Errors = append(s.Errors, fmt.Sprintf("%s: %v", start.Format(time.TimeOnly), err))
		}
		if !first {
			s.Slowest = max(s.Slowest, took.Milliseconds())
			if took > *slow {
				s.Slow++
				s.Errors = append(s.Errors, fmt.Sprintf("%s: took %s", start.Format(time.TimeOnly), took))
			}
		}
		time.Sleep(*interval)
	}
	_ = json.NewEncoder(os.Stdout).Encode(s)
}
