package krew

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// plugin is the part of Krew's v1alpha2 Plugin (sigs.k8s.io/krew/pkg/index) the
// tests read. The manifest's own validation with Krew's code is in e2e/krew_test.go.
type plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Caveats          string     `json:"caveats"`
		Platforms        []platform `json:"platforms"`
	} `json:"spec"`
}

type platform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string `json:"uri"`
	Sha256 string `json:"sha256"`
	Bin    string `json:"bin"`
	Files  []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files"`
}

// fakeDist writes one small archive per release platform, each with different bytes,
// and returns the folder and each archive's sha256 by file name.
func fakeDist(t *testing.T, tag string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	sums := map[string]string{}
	for _, p := range ReleasePlatforms {
		name := "kubectl-kyma_" + tag + "_" + p.OS + "_" + p.Arch + "." + p.Format()
		data := []byte("archive for " + p.String())
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		sums[name] = hex.EncodeToString(sum[:])
	}
	return dir, sums
}

func TestRenderEveryReleasePlatform(t *testing.T) {
	dir, sums := fakeDist(t, "v1.2.3")
	out, err := Render(Options{TagName: "v1.2.3", DistDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var got plugin
	if err := yaml.UnmarshalStrict(out, &got); err != nil {
		t.Fatalf("the manifest is not YAML of a Krew plugin: %v\n%s", err, out)
	}
	if got.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || got.Kind != "Plugin" ||
		got.Metadata.Name != "kyma" || got.Spec.Version != "v1.2.3" {
		t.Errorf("header: apiVersion %q kind %q name %q version %q", got.APIVersion, got.Kind, got.Metadata.Name, got.Spec.Version)
	}
	if !strings.Contains(got.Spec.Caveats, "kubectl kyma login --service-key") {
		t.Errorf("the caveats do not tell how to log in:\n%s", got.Spec.Caveats)
	}
	if !strings.Contains(got.Spec.Caveats, "kubectl_complete-kyma") {
		t.Errorf("the caveats do not tell how to set up completion:\n%s", got.Spec.Caveats)
	}

	type entry struct{ OS, Arch, URI, Sha256, Bin, Files string }
	var want, have []entry
	for _, p := range ReleasePlatforms {
		name := "kubectl-kyma_v1.2.3_" + p.OS + "_" + p.Arch + "." + p.Format()
		exe := p.Exe()
		want = append(want, entry{
			OS: p.OS, Arch: p.Arch,
			URI:    "https://github.com/kubectl-kyma/kubectl-kyma/releases/download/v1.2.3/" + name,
			Sha256: sums[name],
			Bin:    "kubectl-kyma" + exe,
			Files:  "kubectl-kyma" + exe + ">. kyma-cli" + exe + ">. kubectl_complete-kyma" + exe + ">. LICENSE>. README.md>.",
		})
	}
	for _, p := range got.Spec.Platforms {
		var files []string
		for _, f := range p.Files {
			files = append(files, f.From+">"+f.To)
		}
		have = append(have, entry{p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"], p.URI, p.Sha256, p.Bin, strings.Join(files, " ")})
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
}

func TestRenderErrors(t *testing.T) {
	dir, _ := fakeDist(t, "v1.2.3")
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"missing archive", Options{TagName: "v1.2.3", DistDir: dir, Platforms: []Platform{{"linux", "s390x"}}},
			"kubectl-kyma_v1.2.3_linux_s390x.tar.gz (build it with make dist)"},
		{"other version's archives", Options{TagName: "v1.2.4", DistDir: dir}, "kubectl-kyma_v1.2.4_linux_amd64.tar.gz"},
		{"not a tag", Options{TagName: "1.2.3", DistDir: dir}, `tag "1.2.3" must start with v`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Render: error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParsePlatforms(t *testing.T) {
	got, err := ParsePlatforms("linux/amd64, windows/amd64 darwin/arm64")
	if err != nil {
		t.Fatal(err)
	}
	want := []Platform{{"linux", "amd64"}, {"windows", "amd64"}, {"darwin", "arm64"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "linux", "linux/", "/amd64", "linux/amd64/v2"} {
		if _, err := ParsePlatforms(bad); err == nil {
			t.Errorf("ParsePlatforms(%q) accepted it", bad)
		}
	}
}
