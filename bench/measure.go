//go:build linux || darwin

package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sample is one timed run: wall time from fork to exit as the parent sees it. (Peak RSS
// is measured in separate runs: see rssMeter.)
type sample struct {
	wall time.Duration
	cpu  time.Duration // user + system time of the child (and its waited-for children)
	// faults are the child's minor page faults: each fresh page it touched. A count
	// the machine's load does not move, where each fault costs some microseconds.
	faults int64
}

// contestant is one thing timed in a round: usually a whole process.
type contestant struct {
	name string
	// before runs untimed before each timed run (e.g. removes a cache entry).
	before func() error
	// cmd builds the process; stdout goes to a pipe, as it does under kubectl.
	cmd func() *exec.Cmd
	// inProcess is timed instead of cmd when set (a Go HTTP client baseline).
	inProcess func() error
	// check looks at the output of each run, so a run that took the wrong path (a miss
	// where a hit was meant) fails the suite instead of skewing it.
	check func(stdout []byte) error
	// after runs untimed after each timed run (e.g. deletes the binding just made).
	after func() error
}

// rssMeter measures a process's peak RSS through GNU time, which starts it with fork.
//
// ru_maxrss of a process that Go's os/exec starts is useless for small programs: os/exec
// starts children with vfork (CLONE_VM), and at execve the kernel counts the memory the
// child shared until then, the parent's, into the child's ru_maxrss. Every child of this
// program would report at least this program's own RSS. GNU time forks a copy of itself
// (about 1 MB), so its children report their own peak, above that 1 MB.
type rssMeter struct {
	time string // GNU time; empty: fall back to ru_maxrss from os/exec
	out  string // its -o file
	base int64  // what it reports for /bin/true: the measurement's own floor
}

func newRSSMeter(dir string) *rssMeter {
	m := &rssMeter{out: filepath.Join(dir, "rss.txt")}
	t, err := exec.LookPath("time")
	if err != nil {
		t = "/usr/bin/time"
	}
	m.time = t
	if v, err := m.run(exec.Command("true")); err == nil && v > 0 {
		m.base = v
		return m
	}
	m.time = ""
	return m
}

// run runs cmd under GNU time and returns the peak RSS in bytes.
func (m *rssMeter) run(cmd *exec.Cmd) (int64, error) {
	if m.time == "" {
		_, _, err := runProcess(cmd)
		return maxRSS(cmd), err
	}
	wrapped := exec.Command(m.time, append([]string{"-f", "%M", "-o", m.out, cmd.Path}, cmd.Args[1:]...)...)
	wrapped.Env, wrapped.Dir = cmd.Env, cmd.Dir
	if _, _, err := runProcess(wrapped); err != nil {
		return 0, err
	}
	data, err := os.ReadFile(m.out)
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, fmt.Errorf("GNU time wrote %q", data)
	}
	kb, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("GNU time wrote %q", data)
	}
	return kb * 1024, nil
}

// measureRSS runs each process contestant n times (with its before and after steps) and
// returns the peak RSS of each run in bytes, by name.
func (m *rssMeter) measure(cs []*contestant, n int) (map[string][]float64, error) {
	res := map[string][]float64{}
	for _, c := range cs {
		if c.cmd == nil {
			continue
		}
		for range n {
			if c.before != nil {
				if err := c.before(); err != nil {
					return nil, err
				}
			}
			v, err := m.run(c.cmd())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			res[c.name] = append(res[c.name], float64(v))
			if c.after != nil {
				if err := c.after(); err != nil {
					return nil, err
				}
			}
		}
	}
	return res, nil
}

// runProcess runs cmd to completion and times it.
func runProcess(cmd *exec.Cmd) (sample, []byte, error) {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	err := cmd.Wait()
	wall := time.Since(start)
	if err != nil {
		return sample{}, out.Bytes(), fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, errb.String())
	}
	return sample{wall: wall, cpu: cpuTime(cmd), faults: minorFaults(cmd)}, out.Bytes(), nil
}

// minorFaults is the child's count of minor page faults.
func minorFaults(cmd *exec.Cmd) int64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Minflt)
	}
	return 0
}

// cpuTime is the child's user and system time: on a machine shared with other work it
// moves far less than wall time, since waiting for a CPU is not counted.
func cpuTime(cmd *exec.Cmd) time.Duration {
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// maxRSS is the child's peak resident set in bytes.
func maxRSS(cmd *exec.Cmd) int64 {
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return ru.Maxrss * rssUnit
}

// runOne times one run of c, with its untimed before, check and after steps.
func runOne(c *contestant) (sample, error) {
	if c.before != nil {
		if err := c.before(); err != nil {
			return sample{}, fmt.Errorf("%s: prepare: %w", c.name, err)
		}
	}
	var s sample
	if c.inProcess != nil {
		start := time.Now()
		if err := c.inProcess(); err != nil {
			return sample{}, fmt.Errorf("%s: %w", c.name, err)
		}
		s.wall = time.Since(start)
	} else {
		var out []byte
		var err error
		s, out, err = runProcess(c.cmd())
		if err != nil {
			return sample{}, fmt.Errorf("%s: %w", c.name, err)
		}
		if c.check != nil {
			if err := c.check(out); err != nil {
				return sample{}, fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}
	if c.after != nil {
		if err := c.after(); err != nil {
			return sample{}, fmt.Errorf("%s: clean up: %w", c.name, err)
		}
	}
	return s, nil
}

// series are the samples of each contestant, by round: samples[name][i] ran in round i,
// next to the floor's samples[floor][i].
type series map[string][]sample

// rounds runs every contestant once per round, in a new random order each round, so
// that drift of the machine (other work on shared cores, CPU frequency, page cache) hits
// all of them alike and ratios can be taken pair by pair. warmup rounds run first and
// are dropped.
func rounds(ctx context.Context, rng *rand.Rand, n, warmup int, cs []*contestant, progress func(done, total int)) (series, error) {
	out := series{}
	for r := -warmup; r < n; r++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, i := range rng.Perm(len(cs)) {
			s, err := runOne(cs[i])
			if err != nil {
				return nil, err
			}
			if r >= 0 {
				out[cs[i].name] = append(out[cs[i].name], s)
			}
		}
		if progress != nil && r >= 0 {
			progress(r+1, n)
		}
	}
	return out, nil
}

// herd starts n copies of cmd at once and returns the wall time from the first start to
// the last exit, and each process's output.
func herd(n int, cmd func() *exec.Cmd) (time.Duration, [][]byte, error) {
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	errs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = cmd()
		outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
	}
	start := time.Now()
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			for _, started := range cmds[:i] {
				_ = started.Wait()
			}
			return 0, nil, fmt.Errorf("start: %w", err)
		}
	}
	var wg sync.WaitGroup
	failures := make([]error, n)
	for i, c := range cmds {
		wg.Go(func() {
			if err := c.Wait(); err != nil {
				failures[i] = fmt.Errorf("%s: %w\n%s", strings.Join(c.Args, " "), err, errs[i].String())
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	res := make([][]byte, n)
	for i := range outs {
		if failures[i] != nil {
			return 0, nil, failures[i]
		}
		res[i] = outs[i].Bytes()
	}
	return wall, res, nil
}

// dist summarises a set of values: median and the 10th and 90th percentiles.
type dist struct{ p10, med, p90 float64 }

func summarize(v []float64) dist {
	if len(v) == 0 {
		return dist{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return dist{p10: quantile(s, 0.1), med: quantile(s, 0.5), p90: quantile(s, 0.9)}
}

// quantile interpolates linearly between the closest ranks of sorted.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo]*(1-frac) + sorted[lo+1]*frac
}

// walls returns the wall times of ss in milliseconds.
func walls(ss []sample) []float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = float64(s.wall) / float64(time.Millisecond)
	}
	return v
}

// faultCounts returns the minor page faults of ss.
func faultCounts(ss []sample) []float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = float64(s.faults)
	}
	return v
}

// cpus returns the CPU times of ss in milliseconds.
func cpus(ss []sample) []float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = float64(s.cpu) / float64(time.Millisecond)
	}
	return v
}

// pairedRatio is the median, over rounds, of a's wall time over b's in the same round.
func pairedRatio(a, b []sample) dist {
	n := min(len(a), len(b))
	v := make([]float64, n)
	for i := range n {
		v[i] = float64(a[i].wall) / float64(b[i].wall)
	}
	return summarize(v)
}

// pairedDiff is the distribution, over rounds, of a's wall time less b's in the same
// round, in milliseconds.
func pairedDiff(a, b []sample) dist {
	n := min(len(a), len(b))
	v := make([]float64, n)
	for i := range n {
		v[i] = float64(a[i].wall-b[i].wall) / float64(time.Millisecond)
	}
	return summarize(v)
}
