package launcher

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
)

// serveOIDC is the hit path of `credential --oidc`: a CI job's own ID token, read
// from its variable or file, or a GitHub token from the cache. A GitHub miss waits for
// the entry's lock and reads the cache again, so a herd of kubectl processes fetches
// one token; the one that holds the lock (returned) hands it to the full CLI, which
// makes the network call. Anything wrong goes to the full CLI, which says what.
func serveOIDC(a credential.Args, stdout io.Writer) (bool, *os.File) {
	if a.Validate() != nil {
		return false, nil
	}
	info, err := credential.ParseExecInfo(os.Getenv("KUBERNETES_EXEC_INFO"))
	if err != nil {
		return false, nil
	}
	dir, err := credential.DefaultDir()
	if err != nil {
		return false, nil
	}
	in := credential.ReadOIDCEnv(a.OIDC, os.LookupEnv)
	in.ExecInfo, in.Stderr = info, os.Stderr
	cache := credential.OIDCCache{Dir: credential.OIDCDir(dir, os.LookupEnv)}
	if ok, err := cache.Hit(in, stdout); ok || err != nil {
		return ok && err == nil, nil
	}
	start := time.Now()
	served, lock, err := cache.Miss(context.Background(), in, stdout)
	if served {
		return err == nil, nil
	}
	if lock == nil {
		// The full CLI waits only what is left of credential.OIDCLockWait.
		_ = os.Setenv(credential.EnvOIDCLockWaited, time.Since(start).String())
	}
	return false, lock
}
