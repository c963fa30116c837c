package ledger

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/filelock"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func ids(m map[string]Entry) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func TestRecord(t *testing.T) {
	dir := t.TempDir()
	r := Open(dir, "test", "env/../1")
	for _, id := range []string{"a", "b"} {
		if err := r.Add(id, Bind, now); err != nil {
			t.Fatal(err)
		}
	}
	if filepath.Dir(r.Path()) != filepath.Join(dir, "made", "test") {
		t.Fatalf("an environment id escaped the record folder: %s", r.Path())
	}
	data, _ := os.ReadFile(r.Path())
	if want := "a bind 2026-11-23T10:00:00Z\nb bind 2026-11-23T10:00:00Z\n"; string(data) != want {
		t.Errorf("record:\n%s\nwant:\n%s", data, want)
	}
	if fi, err := os.Stat(r.Path()); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("record mode: %v %v", fi, err)
	}
	want := map[string]Entry{"a": {"a", Bind, now}, "b": {"b", Bind, now}}
	if diff := cmp.Diff(want, r.Read()); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"env/../1"}, Environments(dir, "test")); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
}

func TestReadMissing(t *testing.T) {
	if got := Open(t.TempDir(), "test", "env-1").Read(); len(got) != 0 {
		t.Errorf("missing record read as %v", got)
	}
}

func TestCompact(t *testing.T) {
	r := Open(t.TempDir(), "test", "env-1")
	for _, id := range []string{"a", "b", "c"} {
		if err := r.Add(id, Run, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Compact(func(e Entry) bool { return e.ID != "b" }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "c"}, ids(r.Read())); diff != "" {
		t.Errorf("after compaction (-want +got):\n%s", diff)
	}
	if err := r.Compact(func(Entry) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.Path()); !os.IsNotExist(err) {
		t.Errorf("an empty record is kept: %v", err)
	}
	if err := r.Compact(func(Entry) bool { return false }); err != nil {
		t.Errorf("compacting a missing record: %v", err)
	}
}

// The record of bindings made here stays small without gc: past a size, every write
// drops the lines of bindings that have certainly expired.
func TestCompactedPastASize(t *testing.T) {
	r := Open(t.TempDir(), "test", "env-1")
	for i := range 400 {
		if err := r.Add(fmt.Sprintf("old-%03d-2f7c4c8e-4a4b-4e5e-9f0e-6b1d2f3a4b5c", i), Credential, now.Add(-3*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Add("recent", Run, now.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := r.Add("current", Credential, now); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"current", "recent"}, ids(r.Read())); diff != "" {
		t.Errorf("record after compaction (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(r.Path()); err != nil || fi.Size() > CompactSize {
		t.Errorf("record: %v, %v", fi, err)
	}
}

func TestInUse(t *testing.T) {
	r := Open(t.TempDir(), "test", "env-1")
	if r.InUse("b-1") {
		t.Error("a binding without a mark is in use")
	}
	release, err := r.HoldInUse("b-1")
	if err != nil {
		t.Fatal(err)
	}
	if !r.InUse("b-1") {
		t.Error("a held binding is not in use")
	}
	if _, err := r.HoldInUse("b-1"); err == nil {
		t.Error("a second hold of a held binding succeeded")
	}
	release()
	if r.InUse("b-1") {
		t.Error("a released binding is still in use")
	}

	// A run that died left its mark, unlocked: not in use, and the mark goes.
	mark := filepath.Join(r.Path()+".in-use", "b-2")
	if err := os.MkdirAll(filepath.Dir(mark), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mark, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if r.InUse("b-2") {
		t.Error("the mark of a dead run keeps its binding in use")
	}
	// Windows may refuse to remove a file this process holds open (the lock's); the
	// mark then stays, unlocked, and the next probe finds the binding free again.
	if _, err := os.Lstat(mark); runtime.GOOS != "windows" && !os.IsNotExist(err) {
		t.Errorf("the mark of a dead run stays: %v", err)
	}
	if r.InUse("b-2") {
		t.Error("the mark of a dead run, probed again, keeps its binding in use")
	}
}

// Records and in-use marks that an earlier version wrote, under names it escaped with
// upper-case hex digits, are still found; a rewrite moves the record to its new name.
func TestLegacyNames(t *testing.T) {
	dir := t.TempDir()
	const env, id = "env/1", "b/1"
	folder := filepath.Join(dir, "made", "test")
	legacy := filepath.Join(folder, "env%2F1")
	r := Open(dir, "test", env)
	if want := filepath.Join(folder, "env%2f1"); r.Path() != want {
		t.Fatalf("record path %s, want %s", r.Path(), want)
	}
	if err := os.MkdirAll(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(legacy, []byte("old-1 bind 2026-11-23T09:00:00Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"old-1"}, ids(r.Read())); diff != "" {
		t.Errorf("legacy record read (-want +got):\n%s", diff)
	}
	if err := r.Add("new-1", Run, now); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"new-1", "old-1"}, ids(r.Read())); diff != "" {
		t.Errorf("both records read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{env}, Environments(dir, "test")); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}

	// A run of an earlier version holds its mark: the binding is in use.
	mark := filepath.Join(legacy+".in-use", "b%2F1")
	if err := os.MkdirAll(filepath.Dir(mark), 0o700); err != nil {
		t.Fatal(err)
	}
	unlock, ok, err := filelock.TryLock(mark)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if !r.InUse(id) {
		t.Error("a binding an earlier version's run holds is not in use")
	}
	unlock()
	if r.InUse(id) {
		t.Error("a binding an earlier version's run released is in use")
	}

	if err := r.Compact(func(Entry) bool { return true }); err != nil {
		t.Fatal(err)
	}
	// Where case counts, the legacy file is gone; where it does not (Windows), the two
	// names are one file, which stays.
	if fi, err := os.Lstat(legacy); err == nil {
		if cur, err := os.Lstat(r.Path()); err != nil || !os.SameFile(fi, cur) {
			t.Errorf("the legacy record stays after a rewrite: %v", err)
		}
	}
	if diff := cmp.Diff([]string{"new-1", "old-1"}, ids(r.Read())); diff != "" {
		t.Errorf("record after the rewrite (-want +got):\n%s", diff)
	}
}

// A file system that ignores case gives the legacy name and the new one one file:
// a rewrite must not remove it. Simulated with a hard link, as such a file system
// would present it.
func TestLegacyNameIsTheSameFile(t *testing.T) {
	dir := t.TempDir()
	r := Open(dir, "test", "env/1")
	if err := r.Add("a", Bind, now); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(r.Path(), r.legacy); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	r.dropLegacy()
	if _, err := os.Lstat(r.legacy); err != nil {
		t.Errorf("dropLegacy removed the record's own file: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	for kind, want := range map[string]string{
		Credential: "the credential helper",
		Bind:       "kubectl kyma bind",
		"oidc":     "kubectl kyma oidc",
		"":         "kubectl kyma",
	} {
		if got := Describe(kind); got != want {
			t.Errorf("Describe(%q) = %q, want %q", kind, got, want)
		}
	}
}

// FuzzUnescape: every file name EscapeName makes, and every one an earlier version
// made, reads back as the name it was made from.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{"", "env-1", "env/../1", ".x", "100%", "\u01e9", "_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := unescape(credential.EscapeName(s)); !ok || got != s {
			t.Fatalf("unescape(EscapeName(%q)) = %q, %v", s, got, ok)
		}
		if s == "" {
			return
		}
		if got, ok := unescape(legacyName(s)); !ok || got != s {
			t.Fatalf("unescape(legacyName(%q)) = %q, %v", s, got, ok)
		}
		if strings.ContainsAny(legacyName(s), `/\`) {
			t.Fatalf("legacyName(%q) = %q", s, legacyName(s))
		}
	})
}
