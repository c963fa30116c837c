package plugin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
)

// parseCredential runs `kubectl kyma ARGS` with the credential command's Run replaced,
// and returns the options it would have run with.
func parseCredential(t *testing.T, args ...string) (*CredentialOptions, error) {
	t.Helper()
	e := newTestEnv(t, newFakeBindings())
	var got *CredentialOptions
	root := NewRootCmd(e.f)
	for _, c := range root.Commands() {
		if c.Name() == "credential" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(NewCmdCredential(e.f, func(o *CredentialOptions) error { got = o; return nil }))
	root.SetArgs(args)
	err := root.Execute()
	return got, err
}

func TestCredentialFlags(t *testing.T) {
	empty, caller := "", "4242-17"
	testFlags(t, NewCmdCredential, []flagsCase[CredentialOptions]{
		{args: []string{"credential", "--environment", "env-1"},
			want: &CredentialOptions{Args: credential.Args{Environment: "env-1"}}},
		{args: []string{"credential", "--profile", "dev", "--environment", "env-1", "--expiration", "1h", "--refresh-margin", "2m", "--refresh-ahead", "0.9"},
			want: &CredentialOptions{Args: credential.Args{Profile: "dev", Environment: "env-1", Expiration: time.Hour, Margin: 2 * time.Minute, Ahead: 0.9}, Expiration: expirationFlag{time.Hour}}},
		{args: []string{"--profile=dev", "credential", "--environment=env-1", "--expiration=600"},
			want: &CredentialOptions{Args: credential.Args{Profile: "dev", Environment: "env-1", Expiration: 10 * time.Minute}, Expiration: expirationFlag{10 * time.Minute}}},
		{args: []string{"credential", "--environment", "env-1", "--background-refresh"},
			want: &CredentialOptions{Args: credential.Args{Environment: "env-1"}, Background: true}},
		{args: []string{"credential", "--lock-fd=3", "--environment", "env-1"},
			want: &CredentialOptions{Args: credential.Args{Environment: "env-1"}, LockFD: 3}},
		{args: []string{"credential", "--lock-held", "--caller=" + caller, "--environment", "env-1"},
			want: &CredentialOptions{Args: credential.Args{Environment: "env-1"}, LockHeld: true, Caller: &caller}},
		{args: []string{"credential", "--lock-held", "--caller=", "--environment", "env-1"},
			want: &CredentialOptions{Args: credential.Args{Environment: "env-1"}, LockHeld: true, Caller: &empty}},
		{args: []string{"credential", "--oidc", "file", "--token-file", "/run/token", "--audience", "aud"},
			want: &CredentialOptions{Args: credential.Args{OIDC: credential.OIDC{Source: "file", TokenFile: "/run/token", Audience: "aud"}}}},
		{args: []string{"credential"}, wantErr: "--environment is required"},
		{args: []string{"credential", "--environment", "env-1", "--refresh-ahead", "0.2"}, wantErr: "--refresh-ahead is a share of the lifetime from 0.5 to 1"},
		{args: []string{"credential", "--environment", "env-1", "--refresh-margin", "-1m"}, wantErr: "--refresh-margin must not be negative"},
		{args: []string{"credential", "--environment", "env-1", "--expiration", "100"}, wantErr: "a binding lives from 600 to 7200 seconds"},
		{args: []string{"credential", "--environment", "env-1", "--expiration", "soon"}, wantErr: `"soon" is neither seconds nor a duration`},
		{args: []string{"credential", "--environment", "env-1", "extra"}, wantErr: `unknown command "extra"`},
	}, cmpopts.IgnoreFields(CredentialOptions{}, "Minter", "ExecInfo", "Verbosity", "callerFlag"))
}

// TestCredentialCommandReadsWhatTheLauncherReads: for the arguments of an exec stanza,
// the cobra command and credential.ParseArgs (the launcher's) agree, and what the
// command renders for its background refresh parses back to the same.
func TestCredentialCommandReadsWhatTheLauncherReads(t *testing.T) {
	for _, args := range [][]string{
		credential.Args{Profile: "dev", Environment: "env-1"}.Render(),
		credential.Args{Profile: "dev", Environment: "env-1", Expiration: 2 * time.Hour, Margin: 90 * time.Second, Ahead: 0.75}.Render(),
		credential.Args{Environment: "env-1", Expiration: 630500 * time.Millisecond}.Render(),
		credential.Args{OIDC: credential.OIDC{Source: "gitlab", Audience: "aud", TokenEnv: "MY_TOKEN"}}.Render(),
		{"--environment=env-1", "--refresh-ahead=1", "--profile=p"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			want, err := credential.ParseArgs(args)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseCredential(t, append([]string{"credential"}, args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got.Args); diff != "" {
				t.Errorf("the command read (-launcher +command):\n%s", diff)
			}
			back, err := credential.ParseArgs(got.refreshArgs())
			if err != nil || !cmp.Equal(back, want) {
				t.Errorf("the refresh's arguments %q read as %+v, %v; want %+v", got.refreshArgs(), back, err, want)
			}
		})
	}
}

// TestCredentialRun: a miss makes one binding through the profile's service, prints
// it as an ExecCredential, and the next call is answered from the cache.
func TestCredentialRun(t *testing.T) {
	svc := newFakeBindings()
	e := newTestEnv(t, svc)
	t.Setenv("KUBERNETES_EXEC_INFO", "")
	var tokens []string
	for range 2 {
		if err := e.run("credential", "--environment", "env-1"); err != nil {
			t.Fatalf("credential: %v\n%s", err, e.err)
		}
		var ec struct {
			Kind   string `json:"kind"`
			Status struct {
				Token               string    `json:"token"`
				ExpirationTimestamp time.Time `json:"expirationTimestamp"`
			} `json:"status"`
		}
		if err := json.Unmarshal(e.out.Bytes(), &ec); err != nil || ec.Kind != "ExecCredential" || ec.Status.Token == "" {
			t.Fatalf("printed %q (%v), want an ExecCredential with a token", e.out, err)
		}
		if !ec.Status.ExpirationTimestamp.After(now) {
			t.Errorf("expirationTimestamp %v is not after now (%v)", ec.Status.ExpirationTimestamp, now)
		}
		tokens = append(tokens, ec.Status.Token)
	}
	if svc.MadeCount() != 1 || tokens[0] != tokens[1] {
		t.Errorf("two calls made %d bindings and got tokens %q; want one binding, the same token twice", svc.MadeCount(), tokens)
	}
}
