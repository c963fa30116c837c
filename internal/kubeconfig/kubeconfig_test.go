package kubeconfig

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-kyma/kubectl-kyma/internal/golden"
)

// otherKubeconfig is a user's kubeconfig with one cluster, user and context of its own.
var otherKubeconfig = func() string {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "kubeconfig", "other.yaml"))
	if err != nil {
		panic(err)
	}
	return string(data)
}()

func kymaConfig(name string) *clientcmdapi.Config {
	return New(name, &clientcmdapi.Cluster{Server: "https://api.kyma.example", CertificateAuthorityData: []byte("CA")},
		&clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: "kubectl-kyma",
			Args: []string{"credential", "--profile", "p", "--environment", "e"}, InteractiveMode: clientcmdapi.NeverExecInteractiveMode}})
}

// Twenty merges at once (each its own lock and file descriptor, as separate processes
// would have) leave one valid kubeconfig with every context.
func TestParallelMergesKeepEveryContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(otherKubeconfig), 0o640); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = Target{Explicit: path, Switch: true}.Write(kymaConfig(fmt.Sprintf("ctx-%d", i)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("merge %d: %v", i, err)
		}
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("the kubeconfig no longer parses: %v", err)
	}
	if len(cfg.Contexts) != 21 || len(cfg.AuthInfos) != 21 || len(cfg.Clusters) != 21 {
		t.Errorf("%d contexts, %d users, %d clusters; want 21 of each", len(cfg.Contexts), len(cfg.AuthInfos), len(cfg.Clusters))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %04o, want the file's 0640 kept", fi.Mode().Perm())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".config-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// The content is what clientcmd.ModifyConfig writes, to the file it picks from KUBECONFIG.
func TestMergeWritesWhatModifyConfigWrites(t *testing.T) {
	dir := t.TempDir()
	mine := []string{filepath.Join(dir, "a", "missing"), filepath.Join(dir, "a", "first"), filepath.Join(dir, "a", "second")}
	theirs := []string{filepath.Join(dir, "b", "missing"), filepath.Join(dir, "b", "first"), filepath.Join(dir, "b", "second")}
	for _, files := range [][]string{mine, theirs} {
		if err := os.MkdirAll(filepath.Dir(files[0]), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(files[1], []byte(strings.ReplaceAll(otherKubeconfig, "current-context: other\n", "")), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(files[2], []byte(strings.ReplaceAll(otherKubeconfig, "other", "second")), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Setenv("KUBECONFIG", strings.Join(theirs, string(os.PathListSeparator)))
	po := clientcmd.NewDefaultPathOptions()
	start, err := po.GetStartingConfig()
	if err != nil {
		t.Fatal(err)
	}
	add := kymaConfig("kyma-x")
	for k, v := range add.Clusters {
		start.Clusters[k] = v
	}
	for k, v := range add.AuthInfos {
		start.AuthInfos[k] = v
	}
	for k, v := range add.Contexts {
		start.Contexts[k] = v
	}
	start.CurrentContext = "kyma-x"
	if err := clientcmd.ModifyConfig(po, *start, true); err != nil {
		t.Fatal(err)
	}

	t.Setenv("KUBECONFIG", strings.Join(mine, string(os.PathListSeparator)))
	got, err := Target{Switch: true}.Write(kymaConfig("kyma-x"))
	if err != nil {
		t.Fatal(err)
	}
	if got != mine[1] {
		t.Errorf("wrote %s, want %s (the first existing KUBECONFIG file)", got, mine[1])
	}
	for i := range mine {
		a, _ := os.ReadFile(theirs[i])
		b, _ := os.ReadFile(mine[i])
		if diff := cmp.Diff(string(a), string(b)); diff != "" {
			t.Errorf("%s differs from what ModifyConfig wrote (-ModifyConfig +merge):\n%s", filepath.Base(mine[i]), diff)
		}
	}
}

func TestMergeThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "kubeconfig")
	link := filepath.Join(dir, "config")
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte(otherKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	if _, err := (Target{Explicit: link}).Write(kymaConfig("kyma-x")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi, err)
	}
	cfg, err := clientcmd.LoadFromFile(real)
	if err != nil || cfg.Contexts["kyma-x"] == nil || cfg.CurrentContext != "other" {
		t.Errorf("the linked file: %v %+v", err, cfg)
	}
}

func TestMergeDryRunPrintsADiffAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(otherKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	got, diff, err := Target{Explicit: path, Switch: true}.Diff(kymaConfig("kyma-x"))
	if err != nil || got != path {
		t.Fatal(got, err)
	}
	golden.Assert(t, "kubeconfig/dry-run", strings.ReplaceAll(diff, path, "KUBECONFIG"))
	if data, _ := os.ReadFile(path); string(data) != otherKubeconfig {
		t.Errorf("a dry run changed the file:\n%s", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a dry run left files: %v", entries)
	}
	if _, diff, _ := (Target{Explicit: filepath.Join(dir, "new"), Switch: true}).Diff(kymaConfig("kyma-x")); !strings.HasPrefix(diff, "--- ") || !strings.Contains(diff, "@@ -0,0 +1,") {
		t.Errorf("diff against a missing file:\n%s", diff)
	}
}

// A standalone kubeconfig replaces the file whole, 0600, and its diff is against what
// the file held (nothing, for a new one).
func TestStandalone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kyma.yaml")
	cfg := kymaConfig("kyma-x")
	got, diff, err := Target{Standalone: path}.Diff(cfg)
	if err != nil || got != path || !strings.HasPrefix(diff, "--- "+path+"\n") || !strings.Contains(diff, "@@ -0,0 +1,") {
		t.Fatalf("diff against a missing file: %s, %v:\n%s", got, err, diff)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the diff wrote the file: %v", err)
	}
	if err := os.WriteFile(path, []byte(otherKubeconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := (Target{Standalone: path}).Write(cfg); err != nil || got != path {
		t.Fatal(got, err)
	}
	written, err := clientcmd.LoadFromFile(path)
	if err != nil || len(written.Contexts) != 1 || written.Contexts["kyma-x"] == nil || written.CurrentContext != "kyma-x" {
		t.Errorf("the standalone kubeconfig: %v %+v", err, written)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
	}
	if _, diff, err := (Target{Standalone: path}).Diff(cfg); err != nil || diff != "" {
		t.Errorf("diff after the write: %v\n%s", err, diff)
	}
}

// A kubeconfig that was 0644 is 0600 once it holds a token (--static); one of exec
// stanzas keeps its mode.
func TestReplaceFileMode(t *testing.T) {
	for _, tc := range []struct {
		secret bool
		want   os.FileMode
	}{{true, 0o600}, {false, 0o644}} {
		path := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := replaceFile(path, []byte("new"), tc.secret); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != tc.want {
			t.Errorf("secret %v: kubeconfig mode %v (%v), want %v", tc.secret, fi.Mode().Perm(), err, tc.want)
		}
	}
	if !holdsSecret(&clientcmdapi.Config{AuthInfos: map[string]*clientcmdapi.AuthInfo{"u": {Token: "t"}}}) {
		t.Error("a static token is not seen as a secret")
	}
}

func TestUnifiedDiff(t *testing.T) {
	if unifiedDiff("a", "b", []byte("x\n"), []byte("x\n")) != "" {
		t.Error("equal inputs give a diff")
	}
	want := `--- a
+++ b
@@ -1,5 +1,5 @@
 1
-2
+two
 3
 4
 5
@@ -9,3 +9,4 @@
 9
 10
 11
+12
`
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n"
	b := strings.Replace(a, "2\n", "two\n", 1) + "12\n"
	if diff := cmp.Diff(want, unifiedDiff("a", "b", []byte(a), []byte(b))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The diff agrees with diff -u on random edits of a kubeconfig-like text.
func TestUnifiedDiffMatchesDiffU(t *testing.T) {
	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("no diff command")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	lines := strings.SplitAfter(otherKubeconfig, "\n")
	lines = lines[:len(lines)-1]
	for i := range 200 {
		var a, b []string
		for _, l := range lines {
			if r.IntN(4) > 0 {
				a = append(a, l)
			}
			if r.IntN(4) > 0 {
				b = append(b, l)
			}
			if r.IntN(8) == 0 {
				b = append(b, fmt.Sprintf("x%d\n", r.IntN(3)))
			}
		}
		pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		_ = os.WriteFile(pa, []byte(strings.Join(a, "")), 0o600)
		_ = os.WriteFile(pb, []byte(strings.Join(b, "")), 0o600)
		out, _ := exec.Command("diff", "-u", "--label", "a", "--label", "b", pa, pb).Output()
		got := unifiedDiff("a", "b", []byte(strings.Join(a, "")), []byte(strings.Join(b, "")))
		// Both are minimal diffs; where several exist they may pick differently, so
		// compare the hunk-by-hunk count of changed lines.
		if changed(string(out)) != changed(got) {
			t.Fatalf("case %d: diff -u changes %d lines, we %d\n--- diff -u\n%s--- ours\n%s", i, changed(string(out)), changed(got), out, got)
		}
		if err := applies(got, a, b); err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, got)
		}
	}
}

func changed(diff string) int {
	n := 0
	for l := range strings.Lines(diff) {
		if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
			n++
		}
	}
	return n
}

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@`)

// applies checks that the diff's hunks turn a into b.
func applies(diff string, a, b []string) error {
	var out []string
	pos := 0 // next line of a
	for l := range strings.Lines(diff) {
		switch {
		case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"):
		case strings.HasPrefix(l, "@@"):
			m := hunkHeader.FindStringSubmatch(l)
			if m == nil {
				return fmt.Errorf("bad hunk header %q", l)
			}
			start, _ := strconv.Atoi(m[1])
			if m[2] != "0" {
				start-- // a range of lines starts at its first; an empty one names the line before
			}
			if start < pos || start > len(a) {
				return fmt.Errorf("hunk %q out of order", l)
			}
			out = append(out, a[pos:start]...)
			pos = start
		case strings.HasPrefix(l, " "):
			out = append(out, a[pos])
			pos++
		case strings.HasPrefix(l, "-"):
			pos++
		case strings.HasPrefix(l, "+"):
			out = append(out, l[1:])
		}
	}
	out = append(out, a[pos:]...)
	if strings.Join(out, "") != strings.Join(b, "") {
		return fmt.Errorf("applying the diff gives\n%s\nwant\n%s", strings.Join(out, ""), strings.Join(b, ""))
	}
	return nil
}
