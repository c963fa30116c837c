// Package kubeconfig writes kubectl-kyma's cluster, user and context into kubeconfig
// files (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/):
// merged into the file kubectl config would write to, leaving every other entry as it
// was, or written alone to a file of the user's choosing; and shows what a write would
// change as a unified diff, for --dry-run.
//
// Every write is atomic (a temporary file renamed over the old one), and merges into one
// file are safe to run in parallel: each holds a lock beside the file from reading it
// to replacing it.
package kubeconfig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-kyma/kubectl-kyma/internal/filelock"
	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// New is a kubeconfig of one cluster, user and context, all called name, whose
// context is the current one.
func New(name string, cluster *clientcmdapi.Cluster, user *clientcmdapi.AuthInfo) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = cluster
	cfg.AuthInfos[name] = user
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	return cfg
}

// Target is where a kubeconfig goes.
type Target struct {
	// Standalone, when set, is a file that gets the kubeconfig alone, replacing what it
	// held (0600, as it may hold a token).
	Standalone string
	// Explicit is the kubeconfig to merge into (--kubeconfig); empty means the file
	// kubectl config would write to: the first existing file KUBECONFIG lists (its last
	// when none exists), else ~/.kube/config.
	Explicit string
	// Switch makes the merged kubeconfig's current context the current one.
	Switch bool
}

// Write writes cfg to the target and returns the file it wrote: cfg alone to
// Standalone, or else cfg's entries merged into the kubeconfig (see Target.Explicit),
// with the content clientcmd.ModifyConfig would write.
//
// Unlike ModifyConfig a merge is safe to run in parallel: it holds an flock on
// "<file>.kubectl-kyma.lock" from reading the file to replacing it (ModifyConfig's own
// "<file>.lock" is an O_EXCL file that makes a second writer fail, and is left behind
// by a crash), and it writes a temporary file and renames it over the old one, keeping
// its mode, so a reader never sees half a kubeconfig.
func (t Target) Write(cfg *clientcmdapi.Config) (path string, err error) {
	if t.Standalone != "" {
		data, err := clientcmd.Write(*cfg)
		if err != nil {
			return "", fmt.Errorf("encode kubeconfig: %w", err)
		}
		return t.Standalone, privfile.ReplaceFile(t.Standalone, data)
	}
	dest, target := t.destination()
	if err := privfile.CheckTarget(target); err != nil {
		return "", fmt.Errorf("write the kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return "", fmt.Errorf("create the kubeconfig's folder: %w", err)
	}
	unlock, err := lock(target)
	if err != nil {
		return "", err
	}
	defer unlock()
	old, data, err := t.merge(target, cfg)
	if err != nil {
		return "", err
	}
	if string(data) == string(old) {
		return dest, nil
	}
	if err := replaceFile(target, data, holdsSecret(cfg)); err != nil {
		return "", fmt.Errorf("write the kubeconfig: %w", err)
	}
	return dest, nil
}

// Diff returns the file Write would write and its change as a unified diff ("" when
// nothing would change), writing and locking nothing.
func (t Target) Diff(cfg *clientcmdapi.Config) (path, diff string, err error) {
	if t.Standalone != "" {
		data, err := clientcmd.Write(*cfg)
		if err != nil {
			return "", "", fmt.Errorf("encode kubeconfig: %w", err)
		}
		old, err := os.ReadFile(t.Standalone)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("read %s: %w", t.Standalone, err)
		}
		return t.Standalone, unifiedDiff(t.Standalone, t.Standalone, old, data), nil
	}
	dest, target := t.destination()
	old, data, err := t.merge(target, cfg)
	if err != nil {
		return "", "", err
	}
	return dest, unifiedDiff(dest, dest, old, data), nil
}

// destination is the kubeconfig to merge into, and the file to write: the same, or
// the file a symlink there points to (a dotfiles repository's ~/.kube/config), which
// is written through the link, not over it.
func (t Target) destination() (dest, target string) {
	dest = t.pathOptions().GetDefaultFilename()
	if t.Explicit != "" {
		dest = t.Explicit
	}
	target = dest
	if real, err := filepath.EvalSymlinks(dest); err == nil {
		target = real
	}
	return dest, target
}

func (t Target) pathOptions() *clientcmd.PathOptions {
	po := clientcmd.NewDefaultPathOptions()
	po.LoadingRules.ExplicitPath = t.Explicit
	return po
}

// merge returns the file's content (nil when there is none) and what it becomes with
// cfg's entries added.
func (t Target) merge(target string, cfg *clientcmdapi.Config) (old, data []byte, err error) {
	// The merged view decides whether the current context changes, as in ModifyConfig;
	// the destination file alone is what gets rewritten.
	existing, err := t.pathOptions().GetStartingConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("read the kubeconfig: %w", err)
	}
	old, err = os.ReadFile(target)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("read the kubeconfig: %w", err)
	}
	file := clientcmdapi.NewConfig()
	if len(old) > 0 {
		if file, err = clientcmd.LoadFromFile(target); err != nil {
			return nil, nil, fmt.Errorf("read the kubeconfig: %w", err)
		}
	}
	for k, v := range cfg.Clusters {
		file.Clusters[k] = v
	}
	for k, v := range cfg.AuthInfos {
		file.AuthInfos[k] = v
	}
	for k, v := range cfg.Contexts {
		file.Contexts[k] = v
	}
	if t.Switch && existing.CurrentContext != cfg.CurrentContext {
		file.CurrentContext = cfg.CurrentContext
	}
	data, err = clientcmd.Write(*file)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the kubeconfig: %w", err)
	}
	return old, data, nil
}

// lockTimeout bounds the wait for another merge into the same file.
const lockTimeout = 30 * time.Second

// lock takes an exclusive lock beside the kubeconfig (filelock); the kernel drops it
// if this process dies, so a crash never blocks the next merge. The lock must be a
// regular file of ours: nobody may get this process to create or truncate a file of
// their choosing (privfile.TouchBeside).
func lock(path string) (unlock func(), err error) {
	lockPath := path + ".kubectl-kyma.lock"
	if err := privfile.TouchBeside(lockPath); err != nil {
		return nil, fmt.Errorf("lock the kubeconfig: %w", err)
	}
	return filelock.Lock(context.Background(), lockPath, lockTimeout)
}

// replaceFile writes data to path atomically (a temporary file in the same folder,
// renamed over it), with the mode path had (a kubeconfig of exec stanzas holds no
// secret, and users share such files on purpose), or 0600 for a new file; when secret
// (what is merged in holds a token, as with --static) never more than 0600.
func replaceFile(path string, data []byte, secret bool) error {
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if secret {
		mode &= 0o600
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	err = tmp.Chmod(mode)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// holdsSecret reports whether a kubeconfig carries a credential itself (a token, a
// password or a client key), not only exec stanzas.
func holdsSecret(c *clientcmdapi.Config) bool {
	for _, a := range c.AuthInfos {
		if a.Token != "" || a.Password != "" || len(a.ClientKeyData) > 0 {
			return true
		}
	}
	return false
}
