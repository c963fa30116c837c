package privfile

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// shareWait bounds the retries of a rename or an open that another process's open
// handle blocks: readers hold a secret file for microseconds.
const shareWait = 2 * time.Second

// busy reports whether err is Windows refusing because another process has the file
// open: a rename over a file that a reader holds open fails with ERROR_ACCESS_DENIED,
// and opening a file while it is being replaced may fail with ERROR_SHARING_VIOLATION.
// Wine 8 answers the same: a rename over a file open elsewhere is refused, whatever
// share mode the reader gave (checked under Wine with FILE_SHARE_DELETE too).
func busy(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}

// retry runs f until it succeeds, fails for another reason than a busy file, or
// shareWait has passed.
func retry(f func() error) error {
	deadline := time.Now().Add(shareWait)
	pause := time.Millisecond
	for {
		err := f()
		if err == nil || !busy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// replace renames tmp over path, waiting out readers that hold path open.
func replace(tmp, path string) error {
	return retry(func() error { return os.Rename(tmp, path) })
}

// Open opens a secret file for reading, waiting out a replacement under way. The
// caller closes it as soon as it has read it: while it is open, Windows refuses to
// replace the file (even when the reader shares delete access, as Wine showed).
func Open(path string) (*os.File, error) {
	var f *os.File
	err := retry(func() error {
		var err error
		f, err = os.Open(path)
		return err
	})
	return f, err
}
