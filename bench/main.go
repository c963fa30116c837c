//go:build linux || darwin

// Command bench measures what kubectl-kyma's exec credential helper costs each kubectl
// call, side by side with the floor (the least a credential helper can cost) and with
// peer helpers, and prints one Markdown table (docs/benchmarks.md explains every row).
//
// Everything is timed as a whole process, as kubectl runs it: many rounds, each running
// every contestant once in a fresh random order next to the Go floor, so that ratios are
// taken pair by pair within a round and the drift of a shared machine cancels out.
// Reported: median, 10th and 90th percentile, the median paired ratio to the Go floor,
// and the child's peak RSS (ru_maxrss of wait4).
//
// Phases:
//  1. in-process: go test -bench BenchmarkCacheHit ./credential;
//  2. cache hit, floors and peers, offline, on files in a temporary folder;
//  3. with -cluster: a real kube-apiserver and etcd (make tools), the emulator in front,
//     for the end-to-end kubectl call, the cache miss and the herd of cold calls.
//
// Every server listens on 127.0.0.1 and is stopped by its PID. Run it from the
// repository root after make build (scripts/bench.sh does both).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	root       string
	binDir     string
	toolsDir   string
	rounds     int
	slowRounds int
	herdSizes  []int
	herdReps   int
	cluster    bool
	goBench    bool
	output     string
	keep       bool
	seed       uint64
	candidates []string
}

func main() {
	os.Exit(run())
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run() int {
	var o options
	var herdFlag string
	flag.StringVar(&o.root, "root", ".", "the repository root (go.mod, ./credential)")
	flag.StringVar(&o.binDir, "bin", "bin", "folder with kubectl-kyma, kyma-cli and kyma-emulator (make build)")
	flag.StringVar(&o.toolsDir, "tools", ".cache/bin", "folder with kube-apiserver, etcd, kubelogin, aws-iam-authenticator (make tools)")
	flag.IntVar(&o.rounds, "rounds", 60, "rounds of the cache-hit phase (floors, hit, peers)")
	flag.IntVar(&o.slowRounds, "slow-rounds", 30, "rounds of the end-to-end and cache-miss phases")
	flag.StringVar(&herdFlag, "herd", "1,10,50", "herd sizes: concurrent cold calls")
	flag.IntVar(&o.herdReps, "herd-reps", 3, "repetitions of each herd size")
	flag.BoolVar(&o.cluster, "cluster", true, "run the rows that need a cluster and the emulator (4, 5, 6)")
	flag.BoolVar(&o.goBench, "gobench", true, "run the in-process Go benchmark of Cache.Hit")
	flag.StringVar(&o.output, "o", "", "also write the report to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary folder (caches, kubeconfigs, logs)")
	flag.Func("candidate", "also time this build of kubectl-kyma on the cache hit, beside the others (repeatable): a proposal measured in the same run", func(p string) error {
		o.candidates = append(o.candidates, p)
		return nil
	})
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "seed of the run order")
	flag.Parse()
	for _, f := range strings.Split(herdFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			logf("-herd: %q is not a positive number", f)
			return 2
		}
		o.herdSizes = append(o.herdSizes, n)
	}
	ptrs := []*string{&o.root, &o.binDir, &o.toolsDir}
	for i := range o.candidates {
		ptrs = append(ptrs, &o.candidates[i])
	}
	for _, p := range ptrs {
		abs, err := filepath.Abs(*p)
		if err != nil {
			logf("%v", err)
			return 2
		}
		*p = abs
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := measure(ctx, &o)
	if err != nil {
		logf("error: %v", err)
		return 1
	}
	text := rep.markdown()
	fmt.Print(text)
	if o.output != "" {
		if err := os.WriteFile(o.output, []byte(text), 0o644); err != nil {
			logf("error: %v", err)
			return 1
		}
	}
	return 0
}

// report is everything one run measured.
type report struct {
	o        *options
	started  time.Time
	duration time.Duration
	machine  string

	goBench []goBench
	hit     series
	sizes   map[string]int64
	inits   []*initTrace
	deps    []*depCount

	rss     map[string][]float64 // peak RSS in bytes, by contestant
	rssBase int64                // GNU time's own floor; 0 without GNU time

	e2e, miss    series
	herds        []*herdResult
	missRequests int // binding requests the timed misses made (want one each)
	missTokens   int // OAuth tokens fetched by the timed misses (kyma-cli caches its own)
	e2eRequests  int // binding requests during the end-to-end rounds (want 0)
}

func measure(ctx context.Context, o *options) (*report, error) {
	r := &report{o: o, started: time.Now(), machine: machine(), sizes: map[string]int64{}, rss: map[string][]float64{}}
	need := []string{filepath.Join(o.binDir, "kubectl-kyma"), filepath.Join(o.binDir, "kyma-cli"),
		filepath.Join(o.toolsDir, "kubelogin"), filepath.Join(o.toolsDir, "aws-iam-authenticator")}
	if o.cluster {
		need = append(need, filepath.Join(o.binDir, "kyma-emulator"), filepath.Join(o.toolsDir, "kube-apiserver"), filepath.Join(o.toolsDir, "etcd"))
		if _, err := exec.LookPath("kubectl"); err != nil {
			return nil, errors.New("kubectl is not on PATH (row 5 runs the real kubectl)")
		}
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s is missing: run make build and scripts/tools.sh kubelogin aws-iam-authenticator (or make bench)", p)
		}
	}
	tmp, err := os.MkdirTemp("", "kyma-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	rng := rand.New(rand.NewPCG(o.seed, 0x6b796d61))

	if o.goBench {
		logf("in-process: go test -bench BenchmarkCacheHit ./credential")
		if r.goBench, err = runGoBench(o.root, 5); err != nil {
			return nil, err
		}
	}

	logf("cache hit: setting up the floors and the peers in %s", tmp)
	h, err := newHitSetup(o, filepath.Join(tmp, "hit"))
	if err != nil {
		return nil, err
	}
	cs := h.contestants()
	logf("cache hit: %d rounds of %d contestants", o.rounds, len(cs))
	if r.hit, err = rounds(ctx, rng, o.rounds, 5, cs, progress("cache hit")); err != nil {
		return nil, err
	}
	meter := newRSSMeter(tmp)
	r.rssBase = meter.base
	if err := r.addRSS(meter, cs); err != nil {
		return nil, err
	}
	for name, path := range map[string]string{nFloorGo: h.floorGo, nHit: h.front, nHitCLI: h.cli, nKubelogin: h.kubelog[0], nAWS: h.aws[0]} {
		r.sizes[name] = fileSize(path)
	}
	if cat, err := exec.LookPath("cat"); err == nil {
		r.sizes[nFloorCat] = fileSize(cat)
	}
	for _, c := range cs {
		if c.name == nFloorCat {
			continue // not Go
		}
		t, err := traceInits(c, 9)
		if err != nil {
			return nil, err
		}
		r.inits = append(r.inits, t)
	}
	for _, pkg := range []string{"./cmd/kubectl-kyma", "./cmd/kyma-cli"} {
		d, err := countDeps(o.root, pkg)
		if err != nil {
			return nil, err
		}
		r.deps = append(r.deps, d)
	}

	if o.cluster {
		if err := r.clusterPhase(ctx, rng, tmp, h, meter); err != nil {
			return nil, err
		}
	}
	r.duration = time.Since(r.started)
	return r, nil
}

// rssRuns is how many runs of each process measure its peak RSS.
const rssRuns = 5

func (r *report) addRSS(m *rssMeter, cs []*contestant) error {
	got, err := m.measure(cs, rssRuns)
	for name, v := range got {
		r.rss[name] = v
	}
	return err
}

func (r *report) clusterPhase(ctx context.Context, rng *rand.Rand, tmp string, h *hitSetup, meter *rssMeter) error {
	o := r.o
	c, err := startCluster(ctx, o, filepath.Join(tmp, "cluster"))
	if err != nil {
		return fmt.Errorf("start the cluster and the emulator: %w", err)
	}
	defer c.stop()
	r.sizes["kubectl"] = fileSize(must(exec.LookPath("kubectl")))
	floor := &contestant{name: nFloorGo, cmd: func() *exec.Cmd {
		cmd := exec.Command(h.floorGo, h.credJSON)
		cmd.Env = c.credEnv
		return cmd
	}, check: checkToken(h.entry.Token)}

	before, err := c.stats()
	if err != nil {
		return err
	}
	logf("end to end: %d rounds of kubectl get --raw /version, exec and static kubeconfig", o.slowRounds)
	if r.e2e, err = rounds(ctx, rng, o.slowRounds, 2, c.e2eContestants(floor), progress("end to end")); err != nil {
		return err
	}
	after, err := c.stats()
	if err != nil {
		return err
	}
	r.e2eRequests = after.BindingRequests - before.BindingRequests
	if err := r.addRSS(meter, c.e2eContestants(nil)[1:]); err != nil {
		return err
	}

	logf("cache miss: %d rounds of a cold kubectl-kyma credential and of a raw PUT bindings", o.slowRounds)
	// One untimed round first: kyma-cli's OAuth token cache fills, as it is in steady use.
	if _, err := rounds(ctx, rng, 0, 1, c.missContestants(floor), nil); err != nil {
		return err
	}
	before, err = c.stats()
	if err != nil {
		return err
	}
	if r.miss, err = rounds(ctx, rng, o.slowRounds, 0, c.missContestants(floor), progress("cache miss")); err != nil {
		return err
	}
	after, err = c.stats()
	if err != nil {
		return err
	}
	// The raw PUTs are binding requests too.
	r.missRequests = after.BindingRequests - before.BindingRequests - len(r.miss[nRawPut])
	r.missTokens = after.TokensIssued - before.TokensIssued
	if err := r.addRSS(meter, c.missContestants(nil)[1:2]); err != nil {
		return err
	}

	for _, n := range o.herdSizes {
		if err := ctx.Err(); err != nil {
			return err
		}
		logf("herd: %d concurrent cold calls, %d times", n, o.herdReps)
		hr, err := c.runHerd(n, o.herdReps, []string{h.floorGo, h.credJSON})
		if err != nil {
			return err
		}
		r.herds = append(r.herds, hr)
	}
	return nil
}

func must[T any](v T, _ error) T { return v }

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func progress(phase string) func(done, total int) {
	return func(done, total int) {
		if done == total || done%10 == 0 {
			logf("%s: %d/%d rounds", phase, done, total)
		}
	}
}

// machine describes where the run happened.
func machine() string {
	cpu := runtime.GOARCH
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	load := ""
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average " + strings.Join(strings.Fields(string(data))[:3], " ") + " at start"
	}
	gover := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		gover = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%s/%s, %d CPUs (%s)%s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpu, load, gover)
}
