package credential

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClusterAudience(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.c-1a2b3c.kyma.ondemand.com":    "https://api.c-1a2b3c.kyma.ondemand.com",
		"HTTPS://API.Example.COM:443/":              "https://api.example.com",
		"https://127.0.0.1:6443":                    "https://127.0.0.1:6443",
		"https://api.example:":                      "https://api.example",
		"https://[::1]:443":                         "https://[::1]",
		"https://[::1]:6443/":                       "https://[::1]:6443",
		"https://[2001:DB8::1]":                     "https://[2001:db8::1]",
		"http://proxy.example:80/k8s/clusters/c-1/": "http://proxy.example/k8s/clusters/c-1",
		"https://proxy.example/k8s/clusters/C-1":    "https://proxy.example/k8s/clusters/C-1",
		"https://proxy.example/a%2Fb/@x":            "https://proxy.example/a%2Fb/@x",
		"https://api.example:0443":                  "https://api.example:0443",
	} {
		got, err := ClusterAudience(in)
		if err != nil || got != want {
			t.Errorf("ClusterAudience(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "api.example", "ftp://api.example", "https://", "https://:443", "https://user@api.example",
		"https://api.example?x=1", "https://api.example#f", "https://api.example:x", "https://[::1", "https://[::1]x",
		"https://api example", "https://api.example/a b", "https://api.example/%zz", "https://api.example/%4"} {
		if got, err := ClusterAudience(bad); err == nil {
			t.Errorf("ClusterAudience(%q) = %q, want an error", bad, got)
		}
	}
}

// TestOIDCTokenIsOnlyForTheServerItGoesTo is the security review's finding: a
// kubeconfig that pairs --audience of one cluster with the server of another gets no
// token, GitHub is asked for the server's own audience, and a variable's or a file's
// token for another audience is refused with how to fix it.
func TestOIDCTokenIsOnlyForTheServerItGoesTo(t *testing.T) {
	now := oidcT0
	var calls atomic.Int32
	fetch := countingFetcher(t, &now, &calls)
	c := OIDCCache{Dir: t.TempDir()}

	hostile := githubInput(&now)
	hostile.Audience = "https://victim.example"
	hostile.ExecInfo.Server = "https://attacker.example"
	var out bytes.Buffer
	err := c.Do(context.Background(), hostile, fetch, &out)
	if err == nil || !strings.Contains(err.Error(), "https://victim.example") || !strings.Contains(err.Error(), "https://attacker.example") {
		t.Fatalf("error = %v, want the audience and the server named", err)
	}
	if out.Len() > 0 || calls.Load() != 0 {
		t.Fatalf("printed %q and fetched %d tokens for a kubeconfig of another cluster's audience", out.String(), calls.Load())
	}

	// No --audience: the server's (countingFetcher checks what is asked for).
	plain := githubInput(&now)
	plain.Audience = ""
	if err := c.Do(context.Background(), plain, fetch, &out); err != nil {
		t.Fatal(err)
	}

	local := func(source, aud string) OIDCInput {
		tok := testJWT(t, map[string]any{"aud": aud, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		in := ReadOIDCEnv(OIDC{Source: source}, func(k string) (string, bool) { return tok, k == DefaultGitLabTokenEnv })
		if source == OIDCFile {
			in.TokenFile = path
		}
		in.ExecInfo, in.Clock = ExecInfo{APIVersion: apiV1, Server: "https://api.example"}, ptrClock{&now}
		return in
	}
	for _, tc := range []struct {
		source, aud, want string
	}{
		{OIDCGitLab, "https://victim.example", "id_tokens: KYMA_ID_TOKEN: aud: to https://api.example"},
		{OIDCFile, "https://victim.example", "projected token's audience to https://api.example"},
		{OIDCGitLab, "https://API.example:443", ""},
		{OIDCFile, "https://api.example/", ""},
	} {
		var out bytes.Buffer
		ok, err := c.Hit(local(tc.source, tc.aud), &out)
		if tc.want == "" {
			if !ok || err != nil {
				t.Errorf("%s token for %s: Hit = %v, %v; want it handed out", tc.source, tc.aud, ok, err)
			}
			continue
		}
		if ok || err == nil || !strings.Contains(err.Error(), tc.want) || out.Len() > 0 {
			t.Errorf("%s token for %s: Hit = %v, %v, printed %d bytes; want it refused with %q", tc.source, tc.aud, ok, err, out.Len(), tc.want)
		}
	}
}

// TestOIDCRunByHandPrintsNoToken: without KUBERNETES_EXEC_INFO (a person, or a job's
// script, running the plugin) no token is printed, so none lands in a job's log.
func TestOIDCRunByHandPrintsNoToken(t *testing.T) {
	now := oidcT0
	info, err := ParseExecInfo("")
	if err != nil {
		t.Fatal(err)
	}
	for _, source := range []string{OIDCGitHub, OIDCGitLab} {
		in := githubInput(&now)
		in.Source, in.ExecInfo = source, info
		in.EnvToken, in.EnvTokenSet = testJWT(t, map[string]any{"aud": "https://api.example", "exp": now.Add(time.Hour).Unix()}), true
		var out bytes.Buffer
		err := OIDCCache{Dir: t.TempDir()}.Do(context.Background(), in, func(context.Context, string, string, string) (string, error) {
			t.Fatal("fetched a token when run by hand")
			return "", nil
		}, &out)
		if err == nil || !strings.Contains(err.Error(), "run by hand") || out.Len() > 0 {
			t.Errorf("%s by hand: error %v, printed %q; want no token and the reason", source, err, out.String())
		}
	}
}
