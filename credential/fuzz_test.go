package credential

import (
	"os"
	"path/filepath"
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
