package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestStorePutAndDelete(t *testing.T) {
	s := Store{Path: filepath.Join(t.TempDir(), "kubectl-kyma", "config.yaml")}
	dev := &Profile{Name: "dev", Kind: KindCIS, ClientID: "id", ClientSecret: "s", UAAURL: "https://uaa", ProvisioningURL: "https://ps"}
	keb := &Profile{Name: "keb", Kind: KindBroker, ClientID: "id", ClientSecret: "s", BrokerURL: "https://keb/oauth", TokenURL: "https://t", ServiceID: "s", PlanID: "p"}
	step := func(what string, do func() error, wantNames []string, wantCurrent string) {
		t.Helper()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		c, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Names(); !slices.Equal(got, wantNames) || c.Current != wantCurrent {
			t.Errorf("after %s: profiles %v, current %q; want %v, %q", what, got, c.Current, wantNames, wantCurrent)
		}
	}
	step("put dev", func() error { return s.Put(dev) }, []string{"dev"}, "dev")
	step("put keb", func() error { return s.Put(keb) }, []string{"dev", "keb"}, "keb")
	step("delete dev", func() error { return s.Delete("dev") }, []string{"keb"}, "keb")
	step("delete keb", func() error { return s.Delete("keb") }, []string{}, "")
	step("delete a missing one", func() error { return s.Delete("x") }, []string{}, "")

	if err := s.Put(dev); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Load(); err != nil || *c.Profiles["dev"] != *dev {
		t.Errorf("stored %+v (%v), want %+v", c.Profiles["dev"], err, dev)
	}
	// The file holds a client secret: 0600 in a 0700 folder.
	for path, want := range map[string]os.FileMode{s.Path: 0o600, filepath.Dir(s.Path): 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}
