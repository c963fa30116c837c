//go:build linux || darwin

package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
)

// Names of the contestants of the cache-hit phase.
const (
	nFloorGo   = "floor-go"
	nFloorCat  = "floor-cat"
	nHit       = "hit"
	nHitCLI    = "hit-kyma-cli"
	nHitOIDC   = "hit-oidc"
	nStatus    = "status-cached-only"
	nKubelogin = "kubelogin"
	nAWS       = "aws-iam-authenticator"
)

// hitSetup is everything the cache-hit phase needs, made in a temporary folder: the
// credential cache entry, the floors and the peers' offline set-ups.
type hitSetup struct {
	dir      string
	env      []string // one environment for every contestant
	cacheDir string   // $XDG_CACHE_HOME/kubectl-kyma
	key      credential.Key
	entry    *credential.Entry

	front     string   // a copy of kubectl-kyma alone in a folder: a miss cannot hand over
	cands     []string // copies of the -candidate builds, likewise alone
	cli       string   // kyma-cli
	floorGo   string
	credJSON  string // the ExecCredential the hit prints, for the floors to print
	oidcToken string // the warm OIDC entry's token
	kubelog   []string
	aws       []string
}

// execInfo is what kubectl puts in KUBERNETES_EXEC_INFO for the exec stanza that
// `kubectl kyma kubeconfig` writes (apiVersion v1, provideClusterInfo: true).
func execInfo(server string, ca []byte) string {
	v := map[string]any{
		"kind":       "ExecCredential",
		"apiVersion": "client.authentication.k8s.io/v1",
		"spec": map[string]any{
			"cluster":     map[string]any{"server": server, "certificate-authority-data": base64.StdEncoding.EncodeToString(ca)},
			"interactive": false,
		},
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// newHitSetup prepares the cache-hit phase in dir.
func newHitSetup(o *options, dir string) (*hitSetup, error) {
	h := &hitSetup{dir: dir, cli: filepath.Join(o.binDir, "kyma-cli")}
	for _, d := range []string{"home", "config/kubectl-kyma", "cache", "front", "floor", "kubelogin", "aws"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}

	// A cache entry shaped like one the emulator's binding makes: a service-account JWT
	// of about a kilobyte, an RSA-2048 cluster CA, two hours of validity.
	ca, err := selfSignedCA()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	h.cacheDir = filepath.Join(dir, "cache", "kubectl-kyma")
	h.key = credential.Key{Profile: "bench", Environment: "2f7c4c8e-4a4b-4e5e-9f0e-6b1d2f3a4b5c"}
	h.entry = &credential.Entry{
		Environment: h.key.Environment,
		BindingID:   "6a1e5a52-0d7a-4a53-8d6b-2c0f3b9e7d11",
		Token:       fakeJWT(now.Add(2*time.Hour), 700),
		IssuedAt:    now,
		ExpiresAt:   now.Add(2 * time.Hour),
		Server:      "https://127.0.0.1:6443",
		CAData:      ca,
	}
	if err := (credential.Cache{Dir: h.cacheDir}).Store(h.key, h.entry); err != nil {
		return nil, err
	}
	// kyma-cli resolves the profile from its configuration before it looks at the
	// cache; the values are never used on a hit.
	cfg := "current: bench\nprofiles:\n  bench:\n    kind: cis\n    uaaURL: https://127.0.0.1:9\n    provisioningURL: https://127.0.0.1:9\n    clientID: bench\n    clientSecret: bench\n"
	if err := os.WriteFile(filepath.Join(dir, "config", "kubectl-kyma", "config.yaml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}

	// kubectl-kyma alone in a folder: without kyma-cli beside it, a miss (which would
	// hand over) fails the run instead of being timed as a hit.
	h.front = filepath.Join(dir, "front", "kubectl-kyma")
	if err := copyFile(filepath.Join(o.binDir, "kubectl-kyma"), h.front); err != nil {
		return nil, err
	}

	for i, c := range o.candidates {
		d := filepath.Join(dir, "candidate"+strconv.Itoa(i+1))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		h.cands = append(h.cands, filepath.Join(d, "kubectl-kyma"))
		if err := copyFile(c, h.cands[i]); err != nil {
			return nil, err
		}
	}

	h.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"KUBERNETES_EXEC_INFO=" + execInfo(h.entry.Server, ca),
		// aws-iam-authenticator: dummy static credentials, no shared files, no
		// instance metadata; it presigns an STS URL locally and makes no connection.
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws", "credentials"),
	}

	// A warm OIDC entry: a GitHub Actions job's ID token, cached as a fetch stores it,
	// for the same cluster; the token service's address is never reached on a hit.
	h.env = append(h.env, credential.EnvActionsRequestURL+"=https://127.0.0.1:9/idtoken?api-version=2.0", credential.EnvActionsRequestToken+"=bench")
	h.oidcToken = fakeJWTFor(now.Add(2*time.Hour), 700, h.entry.Server)
	in := credential.ReadOIDCEnv(h.oidc(), func(k string) (string, bool) {
		for _, kv := range h.env {
			if name, v, ok := strings.Cut(kv, "="); ok && name == k {
				return v, true
			}
		}
		return "", false
	})
	in.ExecInfo = credential.ExecInfo{APIVersion: "client.authentication.k8s.io/v1", Server: h.entry.Server, CAData: ca}
	if err := (credential.OIDCCache{Dir: h.cacheDir}).Store(in, h.oidcToken, now); err != nil {
		return nil, fmt.Errorf("store the OIDC entry: %w", err)
	}
	if out, err := h.run(h.front, h.oidcArgs()...); err != nil {
		return nil, fmt.Errorf("first OIDC hit: %w", err)
	} else if err := checkToken(h.oidcToken)(out); err != nil {
		return nil, fmt.Errorf("first OIDC hit: %w", err)
	}

	// The ExecCredential the floors print is the hit's own output.
	out, err := h.run(h.front, h.hitArgs()...)
	if err != nil {
		return nil, fmt.Errorf("first cache hit: %w", err)
	}
	if err := checkToken(h.entry.Token)(out); err != nil {
		return nil, fmt.Errorf("first cache hit: %w", err)
	}
	h.credJSON = filepath.Join(dir, "execcredential.json")
	if err := os.WriteFile(h.credJSON, out, 0o600); err != nil {
		return nil, err
	}

	if h.floorGo, err = buildFloor(filepath.Join(dir, "floor")); err != nil {
		return nil, err
	}
	if err := h.setupKubelogin(filepath.Join(o.toolsDir, "kubelogin")); err != nil {
		return nil, err
	}
	h.aws = []string{filepath.Join(o.toolsDir, "aws-iam-authenticator"), "token", "-i", "kyma-bench"}
	if _, err := h.run(h.aws[0], h.aws[1:]...); err != nil {
		return nil, err
	}
	return h, nil
}

// oidc is the warm OIDC entry's user: a GitHub job's token for the cluster's server,
// the only audience the helper hands out.
func (h *hitSetup) oidc() credential.OIDC {
	aud, _ := credential.ClusterAudience(h.entry.Server)
	return credential.OIDC{Source: credential.OIDCGitHub, Audience: aud}
}

// oidcArgs are the exec arguments `oidc trust --output-file` writes: no audience, the
// helper takes the server's.
func (h *hitSetup) oidcArgs() []string {
	o := h.oidc()
	o.Audience = ""
	return append([]string{"credential"}, credential.Args{OIDC: o}.Render()...)
}

func (h *hitSetup) hitArgs() []string {
	return []string{"credential", "--profile", h.key.Profile, "--environment", h.key.Environment}
}

// run runs a command in the phase's environment and returns its stdout.
func (h *hitSetup) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = h.env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out, nil
}

func (h *hitSetup) command(name string, args ...string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.Env = h.env
		return cmd
	}
}

// shellCommand is command for a run from a shell (a prompt), not by kubectl: without
// KUBERNETES_EXEC_INFO, under which the binaries run only the credential command.
func (h *hitSetup) shellCommand(name string, args ...string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cmd := exec.Command(name, args...)
		for _, kv := range h.env {
			if !strings.HasPrefix(kv, "KUBERNETES_EXEC_INFO=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		return cmd
	}
}

// forgetCallers removes the hand-out markers. Every kubectl process is a new caller, so
// a real hit finds no marker of its caller and writes one; here every run has the same
// parent (this program), so its marker is removed before the next run.
func forgetCallers(cacheDir string, k credential.Key) func() error {
	dir := filepath.Join(cacheDir, "credentials", k.Profile, k.Environment+".handouts")
	return func() error {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
}

// contestants are the cache-hit phase's runs: the floors, our hit (served by the
// front and, for comparison, by the full CLI), and the peers.
func (h *hitSetup) contestants() []*contestant {
	forget := forgetCallers(h.cacheDir, h.key)
	tok := checkToken(h.entry.Token)
	var cands []*contestant
	for i, path := range h.cands {
		cands = append(cands, &contestant{name: candidateName(i), before: forget, cmd: h.command(path, h.hitArgs()...), check: tok})
	}
	return append(cands, []*contestant{
		{name: nFloorGo, cmd: h.command(h.floorGo, h.credJSON), check: tok},
		{name: nFloorCat, cmd: h.command("cat", h.credJSON), check: tok},
		{name: nHit, before: forget, cmd: h.command(h.front, h.hitArgs()...), check: tok},
		{name: nHitCLI, before: forget, cmd: h.command(h.cli, h.hitArgs()...), check: tok},
		{name: nHitOIDC, cmd: h.command(h.front, h.oidcArgs()...), check: checkToken(h.oidcToken)},
		{name: nStatus, cmd: h.shellCommand(h.cli, "status", "--cached-only", "--profile", h.key.Profile), check: checkContains(h.entry.BindingID)},
		{name: nKubelogin, cmd: h.command(h.kubelog[0], h.kubelog[1:]...), check: checkToken("eyJ")},
		{name: nAWS, cmd: h.command(h.aws[0], h.aws[1:]...), check: checkToken("k8s-aws-v1.")},
	}...)
}

// checkContains checks that the output mentions want.
func checkContains(want string) func([]byte) error {
	return func(out []byte) error {
		if !bytes.Contains(out, []byte(want)) {
			return fmt.Errorf("output does not mention %s: %q", want, out)
		}
		return nil
	}
}

// candidateName names the i-th -candidate build.
func candidateName(i int) string { return "candidate-" + strconv.Itoa(i+1) }

// checkToken checks that the output is an ExecCredential whose token starts with want.
func checkToken(want string) func([]byte) error {
	return func(out []byte) error {
		var ec struct {
			Kind   string `json:"kind"`
			Status *struct {
				Token string `json:"token"`
			} `json:"status"`
		}
		if err := json.Unmarshal(out, &ec); err != nil || ec.Kind != "ExecCredential" || ec.Status == nil || ec.Status.Token == "" {
			return fmt.Errorf("printed no ExecCredential with a token: %q", out)
		}
		if !strings.HasPrefix(ec.Status.Token, want) {
			return fmt.Errorf("printed another token than expected")
		}
		return nil
	}
}

// floorSource is the Go floor: the least a Go credential helper can do, read a small
// file and print it.
const floorSource = `package main

import "os"

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.Write(data)
}
`

// buildFloor writes the floor's source into dir and builds it with the flags
// `make build` gives kubectl-kyma.
func buildFloor(dir string) (string, error) {
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module floor\n\ngo 1.26\n"), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(floorSource), 0o600); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "floor")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Go floor: %w\n%s", err, out)
	}
	return bin, nil
}

// setupKubelogin pre-fills kubelogin's token cache so that `get-token` takes its cache
// hit (kubelogin v1.36.0, pkg/usecases/credentialplugin/get_token.go: lock, read, decode
// the ID token without verifying it, check exp, print).
//
// The cache file is named after a SHA-256 of kubelogin's gob-encoded cache key (issuer,
// client id, TLS options, username, extra parameters). Rather than re-implement that
// encoding, one run with an empty cache reveals the name: get-token takes the lock file
// <name>.lock before it reads the cache, then fails to reach the issuer (a closed
// loopback port). The entry written under that name is kubelogin's own format,
// {"id_token": "<JWT>"}, with an exp ten years ahead.
func (h *hitSetup) setupKubelogin(bin string) error {
	port, err := closedPort()
	if err != nil {
		return err
	}
	cacheDir := filepath.Join(h.dir, "kubelogin", "cache")
	h.kubelog = []string{bin, "get-token",
		"--oidc-issuer-url=https://127.0.0.1:" + strconv.Itoa(port) + "/kyma-bench",
		"--oidc-client-id=kyma-bench",
		// The password grant never opens a browser, should the cache ever miss.
		"--grant-type=password", "--username=bench", "--password=bench",
		"--token-cache-dir=" + cacheDir,
	}
	if _, err := h.run(h.kubelog[0], h.kubelog[1:]...); err == nil {
		return errors.New("kubelogin get-token succeeded with an empty cache and no issuer")
	}
	locks, _ := filepath.Glob(filepath.Join(cacheDir, "*.lock"))
	if len(locks) != 1 {
		return fmt.Errorf("kubelogin left %d lock files in %s, want 1", len(locks), cacheDir)
	}
	entry, _ := json.Marshal(map[string]string{"id_token": fakeJWT(time.Now().AddDate(10, 0, 0), 700)})
	if err := os.WriteFile(strings.TrimSuffix(locks[0], ".lock"), entry, 0o600); err != nil {
		return err
	}
	out, err := h.run(h.kubelog[0], h.kubelog[1:]...)
	if err != nil {
		return fmt.Errorf("kubelogin with a pre-filled cache: %w", err)
	}
	return checkToken("eyJ")(out)
}

// closedPort returns a loopback port nothing listens on.
func closedPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// fakeJWT returns a JWT-shaped token (unsigned: nothing here verifies it) expiring at
// exp, padded to about size bytes of claims like a service-account token's.
func fakeJWT(exp time.Time, size int) string {
	return fakeJWTFor(exp, size, "https://kubernetes.default.svc.cluster.local")
}

// fakeJWTFor is fakeJWT for audience aud.
func fakeJWTFor(exp time.Time, size int, aud string) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"kyma-bench"}`))
	pad := make([]byte, size/2)
	_, _ = rand.Read(pad)
	claims, _ := json.Marshal(map[string]any{
		"iss": "https://kubernetes.default.svc.cluster.local", "sub": "system:serviceaccount:kyma-system:kyma-binding-bench",
		"aud": []string{aud}, "exp": exp.Unix(), "iat": time.Now().Unix(),
		"kubernetes.io": map[string]any{"namespace": "kyma-system", "pad": enc.EncodeToString(pad)},
	})
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	return header + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(sig)
}

// selfSignedCA returns a PEM CA certificate of the size a cluster's has (RSA 2048).
func selfSignedCA() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kyma-bench-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(1, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}
