package credential

import (
	"runtime"
	"testing"
)

// needFileModes skips a test of Unix file modes on Windows, where a file's ACL, not its
// mode, says who may read it: privfile.Check accepts every mode there.
func needFileModes(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("Unix file modes do not describe Windows ACLs")
	}
}
