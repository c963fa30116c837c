package actionstoken

import (
	"errors"
	"fmt"
)

// EnvRequestURL is the runner's token-service URL for the job.
const EnvRequestURL = "ACTIONS_ID_TOKEN_REQUEST_URL"

// GuardedEnv are the variables that decide where a fetch sends the job's request token
// and whom it trusts there: the token-service URL and the host opt-in, the proxies
// net/http reads (and ALL_PROXY, which curl-minded users set), the roots crypto/x509
// reads (SSL_CERT_FILE and SSL_CERT_DIR: with a proxy, a CA of the attacker's ends
// TLS), GODEBUG (whose http2debug prints headers), and the variables that place the
// cache the fetched ID token is written to (RUNNER_TEMP, XDG_CACHE_HOME, HOME: one
// pointed at the job's workspace would leave the token where an artifact upload
// publishes it). A kubeconfig's exec env: can set every one of them for the plugin
// alone; CheckEnv refuses when it did.
var GuardedEnv = []string{
	EnvRequestURL, EnvAllowHost,
	"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "GODEBUG",
	"RUNNER_TEMP", "XDG_CACHE_HOME", "HOME",
}

// NotSentError is a fetch refused before any request: nothing reached the network, so
// it says nothing of the token service (credential does not remember it as a failed
// fetch: the next call, with the cause fixed, asks at once).
type NotSentError struct{ Reason string }

func (e *NotSentError) Error() string { return e.Reason }

// NotSent marks the error for callers that cannot import this package (credential,
// whose imports stay light): errors.As(err, &interface{ NotSent() bool }).
func (e *NotSentError) NotSent() bool { return true }

func notSent(format string, a ...any) error {
	if len(a) == 0 {
		return &NotSentError{Reason: format}
	}
	return &NotSentError{Reason: fmt.Sprintf(format, a...)}
}

// ErrNoParentEnv says that the parent process's environment cannot be read on this
// system (only Linux has /proc/PID/environ); CheckEnv then checks nothing.
var ErrNoParentEnv = errors.New("the parent process's environment cannot be read on this system")

// CheckEnv refuses a fetch when one of GuardedEnv differs between this process
// (getenv) and the process that started it, which for the credential plugin is
// kubectl (client-go execs the plugin itself, and the launcher hands over to the full
// CLI with exec, keeping the PID). client-go starts the plugin with kubectl's
// environment plus the kubeconfig's exec env:, so a difference is what env: (or a
// client that changed its own environment after it started) added, removed or
// changed, and the request token must not follow it.
//
// On Linux the parent's environment is /proc/PPID/environ, as it was when the parent
// started; when it cannot be read (a parent of another user, a /proc without it) the
// fetch is refused too: a check that cannot run must not pass. Elsewhere (macOS,
// Windows) there is no such file and CheckEnv checks nothing (ErrNoParentEnv).
func CheckEnv(getenv func(string) (string, bool)) error {
	parent, where, err := parentEnv()
	if errors.Is(err, ErrNoParentEnv) {
		return nil
	}
	return checkEnv(getenv, parent, where, err)
}

// checkEnv is CheckEnv given the parent's environment (read from where, or err).
func checkEnv(getenv func(string) (string, bool), parent map[string]string, where string, err error) error {
	if err != nil {
		return notSent("kubectl-kyma cannot read the environment of kubectl, which ran it (%v), so it cannot tell whether a kubeconfig's exec env: changed where the job's request token goes, and fetches no ID token: run kubectl-kyma from kubectl as kubectl's own user", err)
	}
	for _, name := range GuardedEnv {
		own, ownSet := getenv(name)
		was, wasSet := parent[name]
		if own == was && ownSet == wasSet {
			continue
		}
		return notSent("%s differs from kubectl's own (%s), as when a kubeconfig's exec env: sets it, and kubectl-kyma fetches the job's ID token only with kubectl's token-service, proxy, CA and cache settings: set %s in the job's environment, not in the kubeconfig", name, where, name)
	}
	return nil
}
