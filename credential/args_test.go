package credential

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// sameArgs is == for Args, with NaN equal to itself (a NaN share parses and renders,
// and ValidAhead refuses it later).
func sameArgs(a, b Args) bool {
	if math.IsNaN(a.Ahead) && math.IsNaN(b.Ahead) {
		a.Ahead, b.Ahead = 0, 0
	}
	return a == b
}

// TestArgsRoundTrip: what `kubectl kyma kubeconfig` writes into the exec stanza is
// what the launcher and the full CLI read back, and a stanza in the canonical form
// is written again word for word.
func TestArgsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		args Args
		want string // Render, words joined by spaces
	}{
		{"the minimum", Args{Environment: "env-1"}, "--environment env-1"},
		{"what kubeconfig writes", Args{Profile: "dev", Environment: "6f0c-1"}, "--profile dev --environment 6f0c-1"},
		{"every flag", Args{Profile: "dev", Environment: "e", Expiration: 2 * time.Hour, Margin: 90 * time.Second, Ahead: 0.9},
			"--profile dev --environment e --expiration 7200 --refresh-margin 1m30s --refresh-ahead 0.9"},
		{"a lifetime of a fraction of a second is kept", Args{Environment: "e", Expiration: 630500 * time.Millisecond}, "--environment e --expiration 10m30.5s"},
		{"a value that looks like a flag", Args{Profile: "-x", Environment: "--y"}, "--profile -x --environment --y"},
		{"a value with spaces and =", Args{Profile: "a b", Environment: "c=d"}, "--profile a b --environment c=d"},
		{"negative values (refused by Validate, not here)", Args{Environment: "e", Expiration: -time.Second, Margin: -time.Minute, Ahead: -1}, "--environment e --expiration -1 --refresh-margin -1m0s --refresh-ahead -1"},
		{"nothing", Args{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			words := tc.args.Render()
			if got := strings.Join(words, " "); got != tc.want {
				t.Errorf("Render = %q, want %q", got, tc.want)
			}
			back, err := ParseArgs(words)
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", words, err)
			}
			if !sameArgs(back, tc.args) {
				t.Errorf("ParseArgs(Render(a)) = %+v, want %+v", back, tc.args)
			}
			if again := back.Render(); !slices.Equal(again, words) {
				t.Errorf("Render(ParseArgs(x)) = %q, want %q", again, words)
			}
		})
	}
}

// TestParseArgsForms: the other spellings a person or an older kubeconfig may use
// read as the canonical ones, and what the launcher cannot read is refused (it then
// hands the call to the full CLI, which explains).
func TestParseArgsForms(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		want    Args
		wantErr string
	}{
		{argv: []string{"--environment=e", "--profile=p"}, want: Args{Profile: "p", Environment: "e"}},
		{argv: []string{"-environment", "e"}, want: Args{Environment: "e"}},
		{argv: []string{"--environment", "e", "--expiration", "10m"}, want: Args{Environment: "e", Expiration: 10 * time.Minute}},
		{argv: []string{"--environment", "e", "--expiration=600"}, want: Args{Environment: "e", Expiration: 10 * time.Minute}},
		{argv: []string{"--environment", "e", "--refresh-ahead", "1"}, want: Args{Environment: "e", Ahead: 1}},
		{argv: []string{"--environment", "e", "--bogus"}, wantErr: "flag provided but not defined: -bogus"},
		{argv: []string{"--environment", "e", "extra"}, wantErr: `credential takes no arguments, got "extra"`},
		{argv: []string{"--environment", "e", "--expiration", "soon"}, wantErr: `"soon" is neither seconds nor a duration like 1h`},
		{argv: []string{"--environment", "e", "--expiration", "99999999999999"}, wantErr: "out of range"},
		{argv: []string{"--environment", "e", "--refresh-margin", "5"}, wantErr: "invalid value"},
		{argv: []string{"--environment"}, wantErr: "flag needs an argument"},
		{argv: []string{"-h"}, wantErr: "help requested"},
	} {
		got, err := ParseArgs(tc.argv)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseArgs(%q) = %+v, %v; want an error with %q", tc.argv, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("ParseArgs(%q) = %+v, %v; want %+v", tc.argv, got, err, tc.want)
		}
	}
}

func TestArgsValidate(t *testing.T) {
	for _, tc := range []struct {
		args    Args
		wantErr string
	}{
		{Args{Environment: "e"}, ""},
		{Args{Environment: "e", Margin: time.Minute, Ahead: 0.5}, ""},
		{Args{}, "--environment is required"},
		{Args{Environment: "e", Ahead: 0.2}, "--refresh-ahead is a share of the lifetime from 0.5 to 1"},
		{Args{Environment: "e", Ahead: math.NaN()}, "not NaN"},
		{Args{Environment: "e", Margin: -time.Second}, "--refresh-margin must not be negative"},
	} {
		err := tc.args.Validate()
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.args, err, tc.wantErr)
		}
	}
}

func TestArgsInput(t *testing.T) {
	a := Args{Profile: "dev", Environment: "e", Margin: time.Minute, Ahead: 0.9, Expiration: time.Hour}
	in, err := a.Input(`{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{"server":"https://api"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if in.Key != (Key{Profile: "dev", Environment: "e"}) || in.Margin != time.Minute || in.Ahead != 0.9 ||
		in.ExecInfo.APIVersion != apiV1beta1 || in.ExecInfo.Server != "https://api" {
		t.Errorf("Input = %+v", in)
	}
	if _, err := a.Input("{"); err == nil {
		t.Error("Input accepted a KUBERNETES_EXEC_INFO that is not JSON")
	}
}
