//go:build !windows

package credential

import (
	"os"
	"strconv"
	"strings"
)

// pidAlone: without a start time (no procfs: macOS) a recycled PID would look like
// the same caller asking again, so the PID alone names no caller and the refusal
// detection is off.
const pidAlone = false

// startTime is field 22 of /proc/PID/stat (clock ticks since boot), or "" without procfs.
func startTime(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name in parentheses may hold spaces: count fields after the last ')'.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}
