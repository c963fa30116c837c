//go:build !windows

package privfile

import "os"

// replace renames tmp over path: atomic, whoever holds path open.
func replace(tmp, path string) error { return os.Rename(tmp, path) }

// Open opens a secret file for reading.
func Open(path string) (*os.File, error) { return os.Open(path) }
