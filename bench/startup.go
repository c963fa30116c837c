//go:build linux || darwin

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// initTrace is what GODEBUG=inittrace=1 says about one binary's start, medians over runs.
type initTrace struct {
	name     string
	packages int     // packages with init work
	clockMS  float64 // their summed init time
	mainMS   float64 // when the last init ended, from process start: main runs after it
	allocs   float64 // bytes allocated by inits
	top      []pkgInit
}

type pkgInit struct {
	pkg     string
	clockMS float64
}

var initLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs`)

// traceInits runs c n times with GODEBUG=inittrace=1 and summarises the init lines.
func traceInits(c *contestant, n int) (*initTrace, error) {
	var clocks, mains, allocs, counts []float64
	perPkg := map[string][]float64{}
	for range n {
		if c.before != nil {
			if err := c.before(); err != nil {
				return nil, err
			}
		}
		cmd := c.cmd()
		cmd.Env = append(slices.Clone(cmd.Env), "GODEBUG=inittrace=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s with inittrace: %w\n%s", c.name, err, stderr.String())
		}
		var clock, main, alloc, count float64
		sc := bufio.NewScanner(&stderr)
		for sc.Scan() {
			m := initLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			at, _ := strconv.ParseFloat(m[2], 64)
			ck, _ := strconv.ParseFloat(m[3], 64)
			by, _ := strconv.ParseFloat(m[4], 64)
			clock += ck
			alloc += by
			count++
			main = max(main, at+ck)
			perPkg[m[1]] = append(perPkg[m[1]], ck)
		}
		clocks, mains, allocs, counts = append(clocks, clock), append(mains, main), append(allocs, alloc), append(counts, count)
	}
	t := &initTrace{name: c.name, packages: int(summarize(counts).med), clockMS: summarize(clocks).med, mainMS: summarize(mains).med, allocs: summarize(allocs).med}
	for pkg, v := range perPkg {
		if pkg == "runtime" {
			continue // every Go program pays it; the floor shows how much
		}
		// A package missing from some runs counts as zero there.
		v = append(v, make([]float64, max(0, n-len(v)))...)
		t.top = append(t.top, pkgInit{pkg, summarize(v).med})
	}
	slices.SortFunc(t.top, func(a, b pkgInit) int {
		if a.clockMS != b.clockMS {
			if a.clockMS > b.clockMS {
				return -1
			}
			return 1
		}
		return strings.Compare(a.pkg, b.pkg)
	})
	if len(t.top) > 4 {
		t.top = t.top[:4]
	}
	return t, nil
}

// depCount is how many packages `go list -deps` links into a main package.
type depCount struct {
	pkg           string
	std, nonStd   int
	heavyExamples []string
}

func countDeps(root, pkg string) (*depCount, error) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.Standard}} {{.ImportPath}}", pkg)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s: %w", pkg, err)
	}
	d := &depCount{pkg: pkg}
	for line := range strings.Lines(string(out)) {
		std, path, _ := strings.Cut(strings.TrimSpace(line), " ")
		if std == "true" {
			d.std++
			continue
		}
		d.nonStd++
		for _, heavy := range []string{"k8s.io/client-go/kubernetes/scheme", "k8s.io/cli-runtime/pkg/printers", "k8s.io/apimachinery/pkg/runtime", "github.com/spf13/cobra"} {
			if path == heavy {
				d.heavyExamples = append(d.heavyExamples, path)
			}
		}
	}
	return d, nil
}

// goBench is the in-process benchmark of Cache.Hit, by sub-benchmark.
type goBench struct {
	name    string
	nsPerOp float64
	allocs  float64
	bytes   float64
}

var benchLine = regexp.MustCompile(`^BenchmarkCacheHit/(\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op\s+([0-9.]+) B/op\s+([0-9.]+) allocs/op`)

// runGoBench runs BenchmarkCacheHit count times and returns the median of each
// sub-benchmark.
func runGoBench(root string, count int) ([]goBench, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkCacheHit$", "-benchmem",
		"-benchtime", "2000x", "-count", strconv.Itoa(count), "./credential")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %w\n%s", err, out)
	}
	type acc struct{ ns, al, by []float64 }
	got := map[string]*acc{}
	var order []string
	for line := range strings.Lines(string(out)) {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		a := got[m[1]]
		if a == nil {
			a = &acc{}
			got[m[1]] = a
			order = append(order, m[1])
		}
		ns, _ := strconv.ParseFloat(m[2], 64)
		by, _ := strconv.ParseFloat(m[3], 64)
		al, _ := strconv.ParseFloat(m[4], 64)
		a.ns, a.by, a.al = append(a.ns, ns), append(a.by, by), append(a.al, al)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("go test -bench printed no BenchmarkCacheHit results:\n%s", out)
	}
	var res []goBench
	for _, name := range order {
		a := got[name]
		res = append(res, goBench{name: name, nsPerOp: summarize(a.ns).med, allocs: summarize(a.al).med, bytes: summarize(a.by).med})
	}
	return res, nil
}
