// Package privfile keeps the files that hold secrets (client secrets, tokens) and the
// files beside them (locks, markers, records) private on a machine that others share:
// 0600 files in 0700 folders, replaced atomically, and never through a link.
//
// Every file lives under a root, the folder the project owns ($XDG_CACHE_HOME/kubectl-kyma,
// $XDG_CONFIG_HOME/kubectl-kyma). The root and every folder below it down to the file
// must be a real folder (not a link), owned by the user running the program (its
// effective uid), and writable by nobody else; missing ones are created 0700. The
// root's own parent must be owned by that user or root and not writable by others
// unless it is sticky (/tmp), or another user could move the root away and put their
// own in its place (its group may write there: see checkParent). Files are opened without following a link and checked on the open
// descriptor: a regular file of ours. With every folder private, nobody else can plant
// or swap a name in them between a check and an open.
//
// Root (uid 0) accepts only folders and files owned by root: a folder another user owns
// is writable by that user whatever its mode says, so trusting it would let that user
// point root's writes at any file on the machine (the shared cache of a CI image that
// runs as root, a `sudo` that keeps HOME).
//
// It imports only the standard library, so the credential helper's hot path can use it.
package privfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// UnsafeError says why a folder or file is not private enough to use.
type UnsafeError struct {
	// Path is the folder or file refused.
	Path string
	// Problem says what is wrong with it, as the end of a sentence about Path.
	Problem string
}

func (e *UnsafeError) Error() string {
	return "refusing " + e.Path + ": " + e.Problem
}

// MkdirAll makes dir, which is root or lies under it, checking root and every folder
// from it down to dir (see the package doc) and creating the missing ones 0700.
func MkdirAll(root, dir string) error {
	return walk(root, dir, true)
}

// CheckDirs checks root and every folder from it down to dir, creating none. A missing
// folder is an error that matches fs.ErrNotExist.
func CheckDirs(root, dir string) error {
	return walk(root, dir, false)
}

// CheckParent checks, creating nothing, the folder that would hold root as MkdirAll
// and CheckDirs check it: it must exist, and be ours or root's and not writable by
// others (on Windows only that it is a folder).
func CheckParent(root string) error {
	return checkParent(filepath.Clean(root), false)
}

// walk checks (and with create, makes) the folders from root down to dir.
func walk(root, dir string, create bool) error {
	root, dir = filepath.Clean(root), filepath.Clean(dir)
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return fmt.Errorf("%s is not inside %s", dir, root)
	}
	if err := checkParent(root, create); err != nil {
		return err
	}
	path := root
	if err := checkDir(path, create); err != nil {
		return err
	}
	if rel == "." {
		return nil
	}
	for _, name := range strings.Split(rel, string(filepath.Separator)) {
		path = filepath.Join(path, name)
		if err := checkDir(path, create); err != nil {
			return err
		}
	}
	return nil
}

// checkParent checks the folder that holds root (creating it, and its parents, when
// missing and create is set): a user who may write there could replace root.
func checkParent(root string, create bool) error {
	parent := filepath.Dir(root)
	fi, err := os.Stat(parent) // a parent reached through a link is fine: its own mode counts
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := os.MkdirAll(parent, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", parent, err)
		}
		fi, err = os.Stat(parent)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &UnsafeError{parent, "it is not a folder"}
	}
	if uid, ok := owner(fi); ok && uid != euid() && uid != 0 {
		return &UnsafeError{parent, fmt.Sprintf("it belongs to uid %d, who could replace %s; set XDG_CACHE_HOME and XDG_CONFIG_HOME to folders of your own", uid, filepath.Base(root))}
	}
	// Only others' write counts here, not the group's: a home folder or ~/.cache made
	// under umask 002 is group-writable, and with per-user groups that group is the
	// user's own. Folders of the project's own are held to the stricter rule.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return &UnsafeError{parent, fmt.Sprintf("others can write to it (mode %04o) and could replace %s; run chmod go-w %s", fi.Mode().Perm(), filepath.Base(root), parent)}
	}
	return nil
}

// checkDir checks one folder, making it 0700 when it is missing and create is set.
func checkDir(path string, create bool) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", path, err)
		}
		fi, err = os.Lstat(path) // another process may have made it first: check what is there
	}
	if err != nil {
		return err
	}
	return checkFolder(path, fi)
}

// checkFolder refuses a folder that is a link, not ours, or writable by others.
func checkFolder(path string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0 || fi.Mode()&fs.ModeIrregular != 0:
		return &UnsafeError{path, "it is a link, and kubectl-kyma keeps secrets only in real folders of its own"}
	case !fi.IsDir():
		return &UnsafeError{path, "it is not a folder"}
	}
	if uid, ok := owner(fi); ok && uid != euid() {
		return &UnsafeError{path, fmt.Sprintf("it belongs to uid %d, not to you (uid %d); remove it, or set XDG_CACHE_HOME and XDG_CONFIG_HOME to folders of your own", uid, euid())}
	}
	if othersWrite(fi) {
		return &UnsafeError{path, fmt.Sprintf("others can write to it (mode %04o); run chmod 700 %s", fi.Mode().Perm(), path)}
	}
	return nil
}

// othersWrite reports whether the group or others may write to fi. Windows modes do
// not describe ACLs; there the per-user profile folder's ACL keeps others out.
func othersWrite(fi fs.FileInfo) bool {
	return runtime.GOOS != "windows" && fi.Mode().Perm()&0o022 != 0
}

// OpenFile opens path, under root, without following a link at path, after checking
// its folders (MkdirAll when flag has os.O_CREATE, else CheckDirs), and checks on the
// open descriptor that it is a regular file of ours. With os.O_CREATE, a link or other
// non-regular file found at path is removed (the link, never its target) and a file
// made in its place: the folder is ours, so whatever is there is debris or planted.
func OpenFile(root, path string, flag int, perm fs.FileMode) (*os.File, error) {
	dir := filepath.Dir(path)
	if flag&os.O_CREATE != 0 {
		if err := MkdirAll(root, dir); err != nil {
			return nil, err
		}
	} else if err := CheckDirs(root, dir); err != nil {
		return nil, err
	}
	f, err := openNoFollow(path, flag, perm)
	if err != nil && flag&os.O_CREATE != 0 && replaceable(path) {
		if rerr := os.Remove(path); rerr == nil || errors.Is(rerr, fs.ErrNotExist) {
			f, err = openNoFollow(path, flag, perm)
		}
	}
	if err != nil {
		if replaceable(path) {
			return nil, &UnsafeError{path, "it is a link or a special file, and kubectl-kyma opens only regular files of its own"}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkFile(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Touch makes sure path, under root, is a regular file of ours (creating it 0600, and
// its folders, as OpenFile with os.O_CREATE does), for a lock library that opens the
// file itself: give it NoFollow among its open flags.
func Touch(root, path string) error {
	f, err := OpenFile(root, path, os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// TouchBeside is Touch for a lock beside a file in a folder of the user's choosing (a
// kubeconfig's): the folder is the user's business and is not checked, but the lock
// is still opened without following a link and must be a regular file of ours, so
// nobody can get this process to create or truncate a file of their choosing.
func TouchBeside(path string) error {
	f, err := openNoFollow(path, os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil && replaceable(path) {
		if rerr := os.Remove(path); rerr == nil || errors.Is(rerr, fs.ErrNotExist) {
			f, err = openNoFollow(path, os.O_CREATE|os.O_RDONLY, 0o600)
		}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return checkFile(path, fi)
}

// replaceable reports whether path is a link or another non-regular, non-folder file.
func replaceable(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && !fi.Mode().IsRegular() && !fi.IsDir()
}

// checkFile refuses what is not a regular file of ours.
func checkFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return &UnsafeError{path, "it is not a regular file"}
	}
	if uid, ok := owner(fi); ok && uid != euid() {
		return &UnsafeError{path, fmt.Sprintf("it belongs to uid %d, not to you (uid %d)", uid, euid())}
	}
	return nil
}

// ReadFile reads a file that holds secrets: as OpenFile, and refused when others may
// read or write it (see Check). It opens without blocking, so a FIFO planted at path
// is refused (not a regular file) instead of hanging the caller; a regular file reads
// as ever.
func ReadFile(root, path string) ([]byte, error) {
	return ReadFileMax(root, path, 0)
}

// presize bounds the buffer ReadFileMax allocates up front from the size stat gives.
const presize = 1 << 20

// ReadFileMax is ReadFile for a file that is never larger than limit bytes (0: no
// limit): a larger one is refused after reading limit+1 bytes, never read whole.
func ReadFileMax(root, path string, limit int64) ([]byte, error) {
	f, err := OpenFile(root, path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := Check(path, fi); err != nil {
		return nil, err
	}
	// Built only when needed: fmt on every read is work the cache hit would pay.
	tooLarge := func() error {
		return &UnsafeError{path, fmt.Sprintf("it is larger than %d bytes, more than kubectl-kyma ever writes there", limit)}
	}
	if limit > 0 && fi.Size() > limit {
		return nil, tooLarge()
	}
	// One buffer of the size stat gave, and room to see the end: io.ReadAll would grow
	// its buffer from 512 bytes, each step a fresh allocation, which the credential
	// helper's start pays for in page faults on every kubectl call.
	var buf bytes.Buffer
	if n := fi.Size(); n > 0 && n <= presize {
		buf.Grow(int(n) + bytes.MinRead) // a size beyond is a claim (a sparse file) read as it comes
	}
	r := io.Reader(f)
	if limit > 0 {
		r = io.LimitReader(f, limit+1)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	if limit > 0 && int64(buf.Len()) > limit {
		return nil, tooLarge()
	}
	return buf.Bytes(), nil
}

// WriteAtomic writes data to path, under root, through a temporary file in the same
// folder and a rename, 0600, after MkdirAll of the folder: a reader, or a crash at any
// point, sees the old file or the new one, never a part of either. The rename replaces
// a link at path, never its target.
func WriteAtomic(root, path string, data []byte) error {
	if err := MkdirAll(root, filepath.Dir(path)); err != nil {
		return err
	}
	return ReplaceFile(path, data)
}

// ReplaceFile is WriteAtomic for a file whose place the user chose (an --output-file):
// its folder is theirs to pick and is not checked, and the file is still made 0600
// before any byte is in it and renamed over whatever was at path (a link is replaced,
// never followed).
func ReplaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*") // O_EXCL: never through a link
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = replace(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Check refuses a secret-holding file that others may read or write.
func Check(path string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil // modes do not describe Windows ACLs
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		return &UnsafeError{path, fmt.Sprintf("it holds secrets but others can access it (mode %04o); run chmod 600 %s", mode, path)}
	}
	return nil
}

// CheckTarget refuses to write path, reached through links, when it is not the user's
// to write: the file (if any) belongs to another user, or its folder is another user's
// or others may write in it without the sticky bit (they could swap the file). A
// symlinked ~/.kube/config must not lead a merge into someone else's folder.
func CheckTarget(path string) error {
	dir := filepath.Dir(path)
	if fi, err := os.Lstat(path); err == nil {
		if uid, ok := owner(fi); ok && uid != euid() {
			return &UnsafeError{path, "it belongs to another user; write the kubeconfig to a file of your own"}
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil // the write itself says what is wrong
	}
	if uid, ok := owner(fi); ok && uid != euid() && uid != 0 {
		return &UnsafeError{dir, "it belongs to another user; write the kubeconfig to a folder of your own"}
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return &UnsafeError{dir, "anyone can write in it and swap the kubeconfig; write it to a folder of your own"}
	}
	return nil
}
