package plugin

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/clock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// flagsCase is one command line of a flags test: the options it parses into, or a part
// of the one sentence it fails with.
type flagsCase[O any] struct {
	args    []string
	want    *O
	wantErr string
}

// optionsCmp compares parsed options: the flag and argument values, and what Complete
// read from files; not the streams, clock, store and client functions Complete takes
// from the factory.
var optionsCmp = cmp.Options{
	cmp.Exporter(func(reflect.Type) bool { return true }),
	cmpopts.IgnoreTypes(genericiooptions.IOStreams{}, config.Store{}),
	cmpopts.IgnoreInterfaces(struct{ clock.Clock }{}),
	cmp.FilterPath(func(p cmp.Path) bool { return p.Last().Type().Kind() == reflect.Func }, cmp.Ignore()),
}

// testFlags runs each case's command line through the root command, with the command
// newCmd builds stopped before Run, and compares the options it parsed into. The
// factory reaches no service: a command that asks for a profile or a client before Run
// fails the test, since a flag error must come before any of that. opts add to
// optionsCmp, for what Complete reads besides the flags.
func testFlags[O any](t *testing.T, newCmd func(*Factory, func(*O) error) *cobra.Command, cases []flagsCase[O], opts ...cmp.Option) {
	t.Helper()
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f := flagsFactory(t)
			var got *O
			cmd := newCmd(f, func(o *O) error { got = o; return nil })
			root := NewRootCmd(f)
			for _, c := range root.Commands() {
				if c.Name() == cmd.Name() {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(cmd)
			root.SetArgs(tc.args)
			err := root.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, optionsCmp, cmp.Options(opts)); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// flagsFactory is a factory for flags tests: its own config and cache folders, no
// profile named by the environment, and no service.
func flagsFactory(t *testing.T) *Factory {
	t.Helper()
	t.Setenv("KUBECTL_KYMA_PROFILE", "")
	f := NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	f.Clock = clock.NewFake(now)
	dir := t.TempDir()
	f.ConfigStore = func() config.Store { return config.Store{Path: filepath.Join(dir, "config", "config.yaml")} }
	f.CacheDir = func() (string, error) { return filepath.Join(dir, "cache"), nil }
	noService := errors.New("no service in a flags test")
	f.Profile = func() (*config.Profile, error) {
		t.Error("the profile was resolved before Run")
		return nil, noService
	}
	f.Provisioning = func() (*provisioning.Client, error) {
		t.Error("the Provisioning Service client was asked for before Run")
		return nil, noService
	}
	f.Bindings = func() (binding.Service, error) {
		t.Error("the binding service was asked for before Run")
		return nil, noService
	}
	return f
}
