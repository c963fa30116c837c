// Command krew-manifest renders krew/kyma.yaml, kubectl-kyma's Krew manifest, from the
// template and the archives in the dist folder (see package krew). `make krew` runs it:
//
//	go run ./krew/cmd/krew-manifest -tag v1.2.3 -dist dist -o krew/kyma.yaml
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubectl-kyma/kubectl-kyma/krew"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("krew-manifest", flag.ContinueOnError)
	var o krew.Options
	var platforms, templateFile, out string
	fs.StringVar(&o.TagName, "tag", "", "release tag, e.g. v1.2.3 (required)")
	fs.StringVar(&o.DistDir, "dist", "dist", "folder holding the release archives")
	fs.StringVar(&platforms, "platforms", "", "os/arch list (default: every release platform)")
	fs.StringVar(&templateFile, "template", "", "manifest template (default: the built-in krew/kyma.yaml.tmpl)")
	fs.StringVar(&out, "o", "-", "output file, - for stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.TagName == "" {
		return fmt.Errorf("flag -tag is required")
	}
	if platforms != "" {
		ps, err := krew.ParsePlatforms(platforms)
		if err != nil {
			return fmt.Errorf("flag -platforms: %w", err)
		}
		o.Platforms = ps
	}
	if templateFile != "" {
		b, err := os.ReadFile(templateFile)
		if err != nil {
			return fmt.Errorf("flag -template: %w", err)
		}
		o.Template = string(b)
	}
	manifest, err := krew.Render(o)
	if err != nil {
		return err
	}
	if out == "-" {
		_, err := os.Stdout.Write(manifest)
		return err
	}
	return writeFile(out, manifest)
}

// writeFile replaces path with data through a temporary file, so a failed run never
// leaves half a manifest behind.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
