//go:build !windows

package privfile

import (
	"io/fs"
	"os"
	"syscall"
)

// NoFollow is the open flag that refuses a link as the last element of a path; add it
// to the flags of a lock library that opens the file itself (gofrs/flock's SetFlag).
const NoFollow = syscall.O_NOFOLLOW

// owner is the uid that owns fi.
func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// euid is "us": the effective uid, the one the kernel checks and gives new files.
func euid() int { return os.Geteuid() }

// openNoFollow opens path, failing (ELOOP) when it is a symbolic link.
func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
}
