package testcluster

import "syscall"

// sysProcAttr ties a test's servers to the test process (the kernel kills them when it
// dies, however it dies) or, detached, gives them their own process group so a Ctrl-C in
// the terminal that ran `make dev-up` does not reach them.
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setpgid: true}
	}
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
