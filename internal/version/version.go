// Package version holds what `make build` stamps into the binaries with -ldflags -X.
package version

// Set at link time; the defaults say the binary was built without the Makefile.
var (
	Version = "v0.0.0-dev"
	Commit  = "unknown"
	Date    = "unknown"
)
