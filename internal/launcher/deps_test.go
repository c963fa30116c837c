package launcher

import (
	"os/exec"
	"strings"
	"testing"
)

// hotPath is the binary kubectl starts before every call to a Kyma cluster.
const hotPath = "github.com/kubectl-kyma/kubectl-kyma/cmd/kubectl-kyma"

// banned are packages whose init work costs the cache hit a multiple of a bare Go
// program's start (docs/benchmarks.md, "Start-up cost"). An entry ending in "/..."
// bans the package and everything below it.
var banned = []string{
	"k8s.io/cli-runtime/pkg/genericclioptions",
	"k8s.io/client-go/kubernetes/...", // kubernetes/scheme has the costliest init of all
	"k8s.io/client-go/discovery/...",
	"k8s.io/kubectl/...",
	"k8s.io/apimachinery/...",
	"github.com/spf13/cobra",
	"github.com/adrg/xdg",
	"golang.org/x/oauth2",
	// crypto/sha256 alone links some 25 crypto/internal/fips140 packages, whose inits
	// (the FIPS self-test set-up, CPU feature probes) ran before every call; the OIDC
	// cache names its files with hash/fnv instead (credential.OIDCCache).
	"crypto/...",
}

// allowed are the only packages outside the standard library the hot path may link.
// Adding one is a decision to measure first (make bench) and to record here.
var allowed = []string{
	"github.com/kubectl-kyma/kubectl-kyma/cmd/kubectl-kyma",
	"github.com/kubectl-kyma/kubectl-kyma/internal/launcher",
	"github.com/kubectl-kyma/kubectl-kyma/internal/sibling",
	"github.com/kubectl-kyma/kubectl-kyma/credential",
	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile",
	"github.com/kubectl-kyma/kubectl-kyma/internal/filelock", // flock with a timeout; no init work but one error value
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock",    // Now and After over the time package
	"github.com/kubectl-kyma/kubectl-kyma/internal/version",  // three strings set at link time
	"github.com/gofrs/flock",                                 // the refresh lock; no init work
	"golang.org/x/sys/...",                                   // flock's system calls; no init work on the hit path
	// The JSON of the hit without reflection (credential/decode.go): encoding/json's
	// first decode of a type cost the hit some 40 page faults, gjson's a few; its
	// inits build one small map and one struct.
	"github.com/tidwall/gjson",
	"github.com/tidwall/match",
	"github.com/tidwall/pretty",
}

// deps lists the packages linked into the hot-path binary: import path and whether it
// is in the standard library.
func deps(t *testing.T) map[string]bool {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", hotPath).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", hotPath, err, out)
	}
	m := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		path, std, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			t.Fatalf("go list printed %q", line)
		}
		m[path] = std == "true"
	}
	if len(m) == 0 {
		t.Fatal("go list -deps listed no packages")
	}
	return m
}

// matches reports whether path is pattern, or below it when pattern ends in "/...".
func matches(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == prefix || strings.HasPrefix(path, prefix+"/")
	}
	return path == pattern
}

// TestHotPathImportsNoHeavyPackage keeps client-go, cli-runtime, cobra and friends out of
// the binary that serves the credential cache hit.
func TestHotPathImportsNoHeavyPackage(t *testing.T) {
	for path := range deps(t) {
		for _, b := range banned {
			if matches(b, path) {
				t.Errorf("%s links %s: its init work would run before every kubectl call (see docs/benchmarks.md); keep it in kyma-cli", hotPath, path)
			}
		}
	}
}

// TestHotPathIsStandardLibrary is the stricter form: besides the standard library, the
// hot path links only the packages listed in allowed.
func TestHotPathIsStandardLibrary(t *testing.T) {
	for path, std := range deps(t) {
		if std {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || matches(a, path)
		}
		if !ok {
			t.Errorf("%s links %s, which is neither the standard library nor in the allowed list: measure it with make bench before adding it there", hotPath, path)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"k8s.io/apimachinery/...", "k8s.io/apimachinery", true},
		{"k8s.io/apimachinery/...", "k8s.io/apimachinery/pkg/runtime", true},
		{"k8s.io/apimachinery/...", "k8s.io/apimachineryx", false},
		{"k8s.io/client-go/kubernetes", "k8s.io/client-go/kubernetes", true},
		{"k8s.io/client-go/kubernetes", "k8s.io/client-go/kubernetes/scheme", false},
	} {
		if got := matches(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

// TestOnlyTheExecutableImportsTheLauncher: the launcher sits on top (it runs kyma-cli
// for everything it does not serve); a library package that imported it would depend
// on the executable that uses it. What both sides need (finding, checking and starting
// kyma-cli) is in internal/sibling.
func TestOnlyTheExecutableImportsTheLauncher(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	const self = "github.com/kubectl-kyma/kubectl-kyma/internal/launcher"
	out, err := exec.Command(gobin, "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/kubectl-kyma/kubectl-kyma/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] == hotPath {
			continue
		}
		for _, imp := range fields[1:] {
			if imp == self {
				t.Errorf("%s imports %s: only %s may", fields[0], self, hotPath)
			}
		}
	}
}
