package privfile

import (
	"io/fs"
	"os"
)

// NoFollow is zero on Windows, which has no such open flag; openNoFollow checks the
// name before opening instead.
const NoFollow = 0

// owner is not known on Windows: the owner SID needs GetSecurityInfo (advapi32, outside
// the standard library). The folders live in the user's profile (%LOCALAPPDATA%), whose
// ACL already keeps other users out; links (reparse points) are still refused.
func owner(fs.FileInfo) (int, bool) { return 0, false }

// euid has no meaning on Windows (owner never reports one).
func euid() int { return -1 }

// openNoFollow refuses a link (a reparse point, which Lstat reports as a link or an
// irregular file) at path before opening it. Unlike O_NOFOLLOW this leaves a moment
// between the check and the open, which only someone who may write the folder, its
// owner, could use. An open that a replacement under way blocks is retried (see Open).
func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && (fi.Mode()&fs.ModeSymlink != 0 || fi.Mode()&fs.ModeIrregular != 0) {
		return nil, &UnsafeError{path, "it is a link"}
	}
	var f *os.File
	err := retry(func() error {
		var err error
		f, err = os.OpenFile(path, flag, perm)
		return err
	})
	return f, err
}
