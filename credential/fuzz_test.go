package credential

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzLoad: whatever is in a cache file (a crash, another tool, a disk error), Load
// returns a usable entry or a miss.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"bindingId":"b","token":"t","issuedAt":"2026-11-23T10:00:00Z","expiresAt":"2026-11-23T10:10:00Z"}`))
	f.Add([]byte(`{"bindingId":"b","token":"t","expiresAt":"not a time"}`))
	f.Add([]byte(`{"bindingId":"b","token":"t","expiresAt":"2026-11-23T10:10:00Z","superseded":[{"bindingId":1}]}`))
	f.Add([]byte("\x00\xff{"))
	dir := f.TempDir()
	c := Cache{Dir: dir}
	k := Key{Profile: "p", Environment: "e"}
	path := c.path(k)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if e := c.Load(k); e != nil && (e.Token == "" || e.BindingID == "" || e.ExpiresAt.IsZero()) {
			t.Fatalf("loaded an unusable entry: %+v", e)
		}
	})
}

// FuzzParseExecInfo: KUBERNETES_EXEC_INFO comes from whatever runs the plugin.
func FuzzParseExecInfo(f *testing.F) {
	f.Add(`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`)
	f.Add(`{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{"server":"https://a","certificate-authority-data":"Zm9v"}}}`)
	f.Add(`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"certificate-authority-data":"!!"}}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, env string) {
		info, err := ParseExecInfo(env)
		if err == nil && info.APIVersion != apiV1 && info.APIVersion != apiV1beta1 {
			t.Fatalf("accepted apiVersion %q", info.APIVersion)
		}
	})
}

// FuzzArgs: the exec stanza's arguments come from a kubeconfig anyone may edit. What
// ParseArgs accepts, Render writes so that ParseArgs reads it back the same, and
// rendering that again changes nothing. The words are the input split at newlines.
func FuzzArgs(f *testing.F) {
	f.Add("--profile\ndev\n--environment\n6f0c-1")
	f.Add("--profile\ndev\n--environment\ne\n--expiration\n7200\n--refresh-margin\n2m0s\n--refresh-ahead\n0.9")
	f.Add("--environment=e\n--expiration=10m30.5s\n--refresh-ahead=NaN")
	f.Add("-environment\n-x\n--refresh-margin\n-1h\n--refresh-ahead\n-0")
	f.Add("--environment\ne\n--expiration\n+600\n--\nextra")
	f.Add("--expiration\n99999999999999")
	f.Fuzz(func(t *testing.T, text string) {
		a, err := ParseArgs(strings.Split(text, "\n"))
		if err != nil {
			return
		}
		words := a.Render()
		b, err := ParseArgs(words)
		if err != nil {
			t.Fatalf("ParseArgs(Render(%+v)) = %q: %v", a, words, err)
		}
		if !sameArgs(a, b) {
			t.Fatalf("ParseArgs(Render(a)) = %+v, want %+v (words %q)", b, a, words)
		}
		if again := b.Render(); !slices.Equal(again, words) {
			t.Fatalf("Render is not stable: %q, then %q", words, again)
		}
	})
}
