//go:build !linux

package testcluster

import "syscall"

// sysProcAttr gives detached servers their own process group; elsewhere than Linux there
// is no parent-death signal, so tests stop their servers in cleanup.
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: detach}
}
