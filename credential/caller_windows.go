package credential

import (
	"strconv"

	"golang.org/x/sys/windows"
)

// pidAlone: Windows reuses process IDs soon, so a PID without its process's creation
// time does not identify a caller; the refusal detection is off then.
const pidAlone = false

// startTime is the creation time of process pid (GetProcessTimes, in 100 ns ticks), or
// "" when it cannot be read. Wine answers it too (it keeps each process's start time).
func startTime(pid int) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(h)
	var created, exited, kernel, user windows.Filetime
	if windows.GetProcessTimes(h, &created, &exited, &kernel, &user) != nil {
		return ""
	}
	return strconv.FormatInt(created.Nanoseconds()/100, 10)
}
