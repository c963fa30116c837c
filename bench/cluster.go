//go:build linux || darwin

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/testcluster"
)

// Names of the contestants of the cluster phase.
const (
	nMiss   = "miss"
	nRawPut = "raw-put"
	nExec   = "kubectl-exec"
	nStatic = "kubectl-static"
	// bindingLife is the service's default binding lifetime, which the kubeconfig's
	// bindings get; the end-to-end rounds run within its first minutes.
	bindingLife = 10 * time.Minute
)

// clusterSetup is a real kube-apiserver and etcd, the emulator in front of them, a
// profile logged in to it, one environment and its exec kubeconfig.
type clusterSetup struct {
	o   *options
	dir string

	cluster *testcluster.Cluster
	emu     *exec.Cmd
	emuURL  string
	client  *http.Client // trusts the emulator's CA

	env      []string // for kubectl-kyma and kyma-cli
	credEnv  []string // env plus KUBERNETES_EXEC_INFO as kubectl passes it
	cacheDir string
	key      credential.Key
	credArgs []string // the exec stanza's arguments

	execKubeconfig, staticKubeconfig string

	provURL     string
	accessToken string
	keep        string // the kubeconfig's own binding, which the static kubeconfig uses
}

// startCluster starts everything; on error, what was started is stopped.
func startCluster(ctx context.Context, o *options, dir string) (c *clusterSetup, err error) {
	c = &clusterSetup{o: o, dir: dir}
	defer func() {
		if err != nil {
			c.stop()
			c = nil
		}
	}()
	logf("cluster: starting etcd and kube-apiserver on 127.0.0.1...")
	if c.cluster, err = testcluster.Start(ctx, filepath.Join(dir, "cluster"), testcluster.Options{BinDir: o.toolsDir}); err != nil {
		return c, err
	}
	if err := c.startEmulator(); err != nil {
		return c, err
	}
	logf("cluster: emulator at %s; logging in, provisioning an environment, writing its kubeconfig...", c.emuURL)

	for _, d := range []string{"home", "config", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return c, err
		}
	}
	c.cacheDir = filepath.Join(dir, "cache", "kubectl-kyma")
	c.env = []string{
		"PATH=" + o.binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
	}
	state := filepath.Join(dir, "emulator")
	if _, err := c.cli("login", "--profile", "bench", "--service-key", filepath.Join(state, "service-key.json"),
		"--certificate-authority", filepath.Join(state, "ca.crt")); err != nil {
		return c, err
	}
	if _, err := c.cli("provision", "bench", "--plan", "aws", "--region", "eu-central-1", "--user", "bench@example.com", "--wait", "--timeout", "2m"); err != nil {
		return c, err
	}
	c.execKubeconfig = filepath.Join(dir, "exec.kubeconfig")
	if _, err := c.cli("kubeconfig", "bench", "--output-file", c.execKubeconfig); err != nil {
		return c, err
	}
	if err := c.readKubeconfig(); err != nil {
		return c, err
	}
	if err := c.fetchAccessToken(filepath.Join(state, "service-key.json")); err != nil {
		return c, err
	}
	return c, nil
}

func (c *clusterSetup) startEmulator() error {
	state := filepath.Join(c.dir, "emulator")
	logFile, err := os.Create(filepath.Join(c.dir, "emulator.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(c.o.binDir, "kyma-emulator"),
		"--kubeconfig", c.cluster.Kubeconfig, "--state-dir", state, "--provisioning-delay", "1s")
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start kyma-emulator: %w", err)
	}
	c.emu = cmd
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "kyma-emulator listening on "); ok {
				ready <- u
			}
		}
		close(ready)
	}()
	select {
	case u, ok := <-ready:
		if !ok {
			return fmt.Errorf("kyma-emulator exited before it was ready (log: %s)", logFile.Name())
		}
		c.emuURL = u
	case <-time.After(30 * time.Second):
		return errors.New("kyma-emulator not ready within 30s")
	}
	ca, err := os.ReadFile(filepath.Join(state, "ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return nil
}

// stop ends the emulator and the cluster by PID.
func (c *clusterSetup) stop() {
	if c.emu != nil {
		_ = testcluster.StopPID(c.emu.Process.Pid, 10*time.Second)
		_ = c.emu.Wait()
		c.emu = nil
	}
	if c.cluster != nil {
		_ = c.cluster.Stop()
		c.cluster = nil
	}
}

// cli runs kyma-cli with the phase's environment.
func (c *clusterSetup) cli(args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.o.binDir, "kyma-cli"), args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("kyma-cli %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// readKubeconfig takes the exec stanza's arguments and the cluster from the kubeconfig
// `kubectl kyma kubeconfig` wrote, and writes the static-token twin of it.
func (c *clusterSetup) readKubeconfig() error {
	cfg, err := clientcmd.LoadFromFile(c.execKubeconfig)
	if err != nil {
		return err
	}
	kctx := cfg.Contexts[cfg.CurrentContext]
	if kctx == nil || cfg.AuthInfos[kctx.AuthInfo] == nil || cfg.AuthInfos[kctx.AuthInfo].Exec == nil {
		return fmt.Errorf("%s has no exec user in its current context", c.execKubeconfig)
	}
	cluster := cfg.Clusters[kctx.Cluster]
	ex := cfg.AuthInfos[kctx.AuthInfo].Exec
	c.credArgs = ex.Args
	for i, a := range ex.Args {
		if i+1 < len(ex.Args) {
			switch a {
			case "--profile":
				c.key.Profile = ex.Args[i+1]
			case "--environment":
				c.key.Environment = ex.Args[i+1]
			}
		}
	}
	if c.key.Profile == "" || c.key.Environment == "" {
		return fmt.Errorf("exec stanza %v names no --profile and --environment", ex.Args)
	}
	info := execInfo(cluster.Server, cluster.CertificateAuthorityData)
	if !ex.ProvideClusterInfo {
		info = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`
	}
	c.credEnv = append(slices.Clone(c.env), "KUBERNETES_EXEC_INFO="+info)

	e := (credential.Cache{Dir: c.cacheDir}).Load(c.key)
	if e == nil {
		return errors.New("kubectl kyma kubeconfig left no cache entry")
	}
	c.keep = e.BindingID
	static := clientcmdapi.NewConfig()
	static.Clusters["kyma"] = cluster
	static.AuthInfos["kyma"] = &clientcmdapi.AuthInfo{Token: e.Token}
	static.Contexts["kyma"] = &clientcmdapi.Context{Cluster: "kyma", AuthInfo: "kyma"}
	static.CurrentContext = "kyma"
	c.staticKubeconfig = filepath.Join(c.dir, "static.kubeconfig")
	return clientcmd.WriteToFile(*static, c.staticKubeconfig)
}

// fetchAccessToken gets the service key's client-credentials token once, for the raw
// PUT baseline and for deleting the bindings the runs make.
func (c *clusterSetup) fetchAccessToken(serviceKey string) error {
	data, err := os.ReadFile(serviceKey)
	if err != nil {
		return err
	}
	var key struct {
		Credentials struct {
			UAA struct {
				ClientID     string `json:"clientid"`
				ClientSecret string `json:"clientsecret"`
				URL          string `json:"url"`
			} `json:"uaa"`
			Endpoints struct {
				ProvisioningServiceURL string `json:"provisioning_service_url"`
			} `json:"endpoints"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal(data, &key); err != nil {
		return fmt.Errorf("read %s: %w", serviceKey, err)
	}
	c.provURL = key.Credentials.Endpoints.ProvisioningServiceURL
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {key.Credentials.UAA.ClientID}, "client_secret": {key.Credentials.UAA.ClientSecret}}
	resp, err := c.client.PostForm(key.Credentials.UAA.URL+"/oauth/token", form)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return fmt.Errorf("token endpoint answered %s", resp.Status)
	}
	c.accessToken = tok.AccessToken
	return nil
}

// api makes one Provisioning Service call with client and returns the response body.
func (c *clusterSetup) api(client *http.Client, method, path string, body []byte, want int) ([]byte, http.Header, error) {
	req, err := http.NewRequest(method, c.provURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "bearer "+c.accessToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != want {
		return nil, nil, fmt.Errorf("%s %s: %s %s", method, path, resp.Status, data)
	}
	return data, resp.Header, nil
}

func (c *clusterSetup) bindingsPath() string {
	return "/provisioning/v1/environments/" + url.PathEscape(c.key.Environment) + "/bindings"
}

// rawPut is the server-time baseline of a cache miss: one PUT .../bindings from a Go
// client in this process, with a fresh connection and TLS handshake as a new process
// has, and an access token already at hand (kyma-cli keeps its own in a file cache).
// It returns the new binding's id.
func (c *clusterSetup) rawPut() (string, error) {
	tr := c.client.Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 30 * time.Second, Transport: tr}
	body := fmt.Appendf(nil, `{"parameters":{"expiration_seconds":%d}}`, int(bindingLife.Seconds()))
	data, h, err := c.api(client, http.MethodPut, c.bindingsPath(), body, http.StatusAccepted)
	if err != nil {
		return "", err
	}
	if !bytes.Contains(data, []byte("kubeconfig")) || h.Get("Location") == "" {
		return "", fmt.Errorf("PUT bindings answered no kubeconfig or no Location")
	}
	return pathBase(h.Get("Location")), nil
}

func pathBase(loc string) string {
	if i := strings.LastIndexByte(loc, '/'); i >= 0 {
		return loc[i+1:]
	}
	return loc
}

// deleteBinding revokes a binding a run made, so the environment never reaches the
// service's limit of 10 live bindings.
func (c *clusterSetup) deleteBinding(id string) error {
	_, _, err := c.api(c.client, http.MethodDelete, c.bindingsPath()+"/"+url.PathEscape(id), nil, http.StatusOK)
	return err
}

// deleteAllBut revokes every binding of the environment except keep.
func (c *clusterSetup) deleteAllBut(keep string) error {
	data, _, err := c.api(c.client, http.MethodGet, c.bindingsPath(), nil, http.StatusOK)
	if err != nil {
		return err
	}
	var list struct {
		Bindings []struct {
			ID string `json:"bindingId"`
		} `json:"bindings"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	for _, b := range list.Bindings {
		if b.ID != keep {
			if err := c.deleteBinding(b.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// emulatorStats is GET /emulator/v1/stats.
type emulatorStats struct {
	BindingsCreated int `json:"bindingsCreated"`
	BindingRequests int `json:"bindingRequests"`
	LiveBindings    int `json:"liveBindings"`
	TokensIssued    int `json:"tokensIssued"`
}

func (c *clusterSetup) stats() (emulatorStats, error) {
	var s emulatorStats
	resp, err := c.client.Get(c.emuURL + "/emulator/v1/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// forget removes the cache entry (and its markers): the next call is a cold miss.
func (c *clusterSetup) forget() error {
	path := filepath.Join(c.cacheDir, "credentials", c.key.Profile, c.key.Environment)
	if err := os.Remove(path + ".json"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.RemoveAll(path + ".handouts")
}

// revokeCached deletes the binding of the cached entry (made by a miss).
func (c *clusterSetup) revokeCached() error {
	e := (credential.Cache{Dir: c.cacheDir}).Load(c.key)
	if e == nil {
		return errors.New("the miss left no cache entry")
	}
	return c.deleteBinding(e.BindingID)
}

// credential runs kubectl-kyma credential as kubectl would, with the exec stanza's
// arguments and KUBERNETES_EXEC_INFO.
func (c *clusterSetup) credential() *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.o.binDir, "kubectl-kyma"), c.credArgs...)
	cmd.Env = c.credEnv
	return cmd
}

// kubectl runs `kubectl --kubeconfig kc get --raw /version`.
func (c *clusterSetup) kubectl(kc string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cmd := exec.Command("kubectl", "--kubeconfig", kc, "get", "--raw", "/version")
		cmd.Env = c.env
		return cmd
	}
}

func checkVersion(out []byte) error {
	if !bytes.Contains(out, []byte(`"gitVersion"`)) {
		return fmt.Errorf("kubectl get --raw /version printed %q", out)
	}
	return nil
}

// missContestants: a cold miss of kubectl-kyma credential (no entry: the front hands
// over to kyma-cli, which locks, makes a binding and writes the entry), and the raw
// PUT baseline; each run's binding is deleted outside the timer.
func (c *clusterSetup) missContestants(floor *contestant) []*contestant {
	var putID string
	return []*contestant{
		floor,
		{name: nMiss, before: c.forget, cmd: c.credential, check: checkToken("eyJ"), after: c.revokeCached},
		{name: nRawPut,
			inProcess: func() (err error) { putID, err = c.rawPut(); return err },
			after:     func() error { return c.deleteBinding(putID) }},
	}
}

// e2eContestants: kubectl through the exec kubeconfig (a cache hit of kubectl-kyma) and
// through the same cluster and the same binding's token written into the kubeconfig.
func (c *clusterSetup) e2eContestants(floor *contestant) []*contestant {
	return []*contestant{
		floor,
		{name: nExec, cmd: c.kubectl(c.execKubeconfig), check: checkVersion},
		{name: nStatic, cmd: c.kubectl(c.staticKubeconfig), check: checkVersion},
	}
}

// herdResult is one herd size's outcome, medians over the repetitions.
type herdResult struct {
	n                 int
	wall, floorWall   []float64 // ms, one per repetition
	requests, created []int     // binding requests and bindings made, per repetition
	callers           []int     // distinct callers recorded, per repetition
}

// runHerd starts n cold `kubectl-kyma credential` calls at once, each under its own
// shell (so each has its own parent, as n kubectl processes would), reps times; and as
// many Go floors at once under the same shells, for the ratio.
func (c *clusterSetup) runHerd(n, reps int, floorCmd []string) (*herdResult, error) {
	r := &herdResult{n: n}
	shell := func(argv []string, env []string) func() *exec.Cmd {
		return func() *exec.Cmd {
			// `; exit $?` keeps sh from exec-ing the command, so sh stays its parent.
			cmd := exec.Command("sh", append([]string{"-c", `"$0" "$@"; exit $?`}, argv...)...)
			cmd.Env = env
			return cmd
		}
	}
	cred := shell(append([]string{filepath.Join(c.o.binDir, "kubectl-kyma")}, c.credArgs...), c.credEnv)
	floor := shell(floorCmd, c.credEnv)
	for range reps {
		if err := c.forget(); err != nil {
			return nil, err
		}
		before, err := c.stats()
		if err != nil {
			return nil, err
		}
		wall, outs, err := herd(n, cred)
		if err != nil {
			return nil, fmt.Errorf("herd of %d: %w", n, err)
		}
		after, err := c.stats()
		if err != nil {
			return nil, err
		}
		for _, out := range outs {
			if err := checkToken("eyJ")(out); err != nil {
				return nil, fmt.Errorf("herd of %d: %w", n, err)
			}
		}
		markers, _ := os.ReadDir(filepath.Join(c.cacheDir, "credentials", c.key.Profile, c.key.Environment+".handouts"))
		r.wall = append(r.wall, ms(wall))
		r.requests = append(r.requests, after.BindingRequests-before.BindingRequests)
		r.created = append(r.created, after.BindingsCreated-before.BindingsCreated)
		r.callers = append(r.callers, len(markers))
		if err := c.deleteAllBut(c.keep); err != nil {
			return nil, err
		}
		fwall, _, err := herd(n, floor)
		if err != nil {
			return nil, fmt.Errorf("floor herd of %d: %w", n, err)
		}
		r.floorWall = append(r.floorWall, ms(fwall))
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func itoa(n int) string { return strconv.Itoa(n) }
