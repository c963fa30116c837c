// Package krew renders kubectl-kyma's Krew plugin manifest (krew/kyma.yaml) from the
// template kyma.yaml.tmpl and the release archives that scripts/dist.sh builds.
//
// The manifest format is Krew's v1alpha2 Plugin
// (https://krew.sigs.k8s.io/docs/developer-guide/plugin-manifest/): one platform entry
// per os/arch with a selector, the archive's uri and sha256, the bin that Krew links
// into $KREW_ROOT/bin, and the files it keeps from the archive. A rendered entry:
//
//	platforms:
//	- selector:
//	    matchLabels:
//	      os: linux
//	      arch: amd64
//	  uri: https://github.com/kubectl-kyma/kubectl-kyma/releases/download/v1.0.0/kubectl-kyma_v1.0.0_linux_amd64.tar.gz
//	  sha256: 3f1d…
//	  bin: kubectl-kyma
//	  files:
//	  - from: kubectl-kyma
//	    to: .
//	  …
//
// The template holds the release URL pattern; every sha256 is computed here from the
// archive in the dist folder whose name is the URI's last segment, never typed by hand.
package krew

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"
)

// Template is kyma.yaml.tmpl, the manifest template.
//
//go:embed kyma.yaml.tmpl
var Template string

// Platform is one os/arch that a release ships an archive for.
type Platform struct {
	OS   string // GOOS, which is also Krew's "os" label
	Arch string // GOARCH, which is also Krew's "arch" label
}

// Format is the archive's extension: zip on Windows, tar.gz elsewhere.
func (p Platform) Format() string {
	if p.OS == "windows" {
		return "zip"
	}
	return "tar.gz"
}

// Exe is the executables' suffix on this platform.
func (p Platform) Exe() string {
	if p.OS == "windows" {
		return ".exe"
	}
	return ""
}

// String is "os/arch", as GOOS/GOARCH and scripts/dist.sh's PLATFORMS spell it.
func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ReleasePlatforms are the platforms every release ships, as scripts/dist.sh builds
// them by default.
var ReleasePlatforms = []Platform{
	{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"},
}

// ParsePlatforms parses a comma- or space-separated list of os/arch pairs.
func ParsePlatforms(s string) ([]Platform, error) {
	var ps []Platform
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		goos, goarch, ok := strings.Cut(f, "/")
		if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
			return nil, fmt.Errorf("platform %q is not os/arch", f)
		}
		ps = append(ps, Platform{goos, goarch})
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("no platform in %q", s)
	}
	return ps, nil
}

// Options say what to render.
type Options struct {
	TagName   string     // the release tag, "v1.2.3": Krew's spec.version and part of each URI
	DistDir   string     // holds the archives named by the template's URIs
	Platforms []Platform // the platform entries; ReleasePlatforms when empty
	Template  string     // the template text; Template when empty
}

// Render returns the manifest. It fails if an archive a URI names is not in DistDir.
func Render(o Options) ([]byte, error) {
	if !strings.HasPrefix(o.TagName, "v") {
		return nil, fmt.Errorf("tag %q must start with v (Krew needs a semantic version)", o.TagName)
	}
	if o.Platforms == nil {
		o.Platforms = ReleasePlatforms
	}
	if o.Template == "" {
		o.Template = Template
	}
	data := struct {
		TagName   string
		Platforms []Platform
	}{o.TagName, o.Platforms}
	tmpl, err := template.New("kyma.yaml.tmpl").Option("missingkey=error").Funcs(template.FuncMap{
		"sha256": func(uri string) (string, error) { return archiveSHA256(o.DistDir, uri) },
	}).Parse(o.Template)
	if err != nil {
		return nil, fmt.Errorf("parse the manifest template: %w", err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		return nil, fmt.Errorf("render the manifest: %w", err)
	}
	return out.Bytes(), nil
}

// archiveSHA256 hashes the file in dir named like uri's last segment.
func archiveSHA256(dir, uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("archive uri: %w", err)
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." {
		return "", fmt.Errorf("archive uri %q names no file", uri)
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("archive for %s (build it with make dist): %w", uri, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", f.Name(), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
