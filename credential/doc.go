// Package credential is kubectl-kyma's client-go exec credential plugin: it hands kubectl
// a cached binding token and makes a fresh binding before the cached one expires.
//
// client-go runs the plugin named in a kubeconfig's exec stanza
// (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins),
// passes KUBERNETES_EXEC_INFO, and reads from stdout:
//
//	{
//	  "kind": "ExecCredential",
//	  "apiVersion": "client.authentication.k8s.io/v1",
//	  "spec": {"interactive": false},
//	  "status": {"expirationTimestamp": "2026-11-23T10:19:37Z", "token": "eyJhbGciOi..."}
//	}
//
// It runs the plugin once per process and again only when expirationTimestamp has passed
// or the server answered 401, so expirationTimestamp is always set: the binding's expiry
// less a refresh margin.
//
// This package is the cache-hit path of every kubectl call. It imports the standard
// library, gofrs/flock and nothing heavy (no client-go, no YAML), does no work at package
// init, and makes no network call on a hit. Making a binding is the caller's Minter,
// which lives in the full CLI.
//
// # The binding budget
//
// KEB allows 10 live bindings per environment, shared by everyone who uses it, and this
// plugin makes bindings on its own. So, for one environment, one machine keeps at most
// two live bindings it made through the plugin (the one in use and the one replacing
// it), and makes at most one new binding per refresh interval (from a binding's issue to
// its refresh-ahead point, at least half the time until it is due), whatever the clock,
// the flags, the disk or the service's answers say. The one exception is a binding the
// cluster itself refuses (see below): it is deleted and replaced at once, but not again
// within refusalCooldown. What enforces it:
//
//   - Before a bind, superseded bindings nobody holds are deleted; if two live ones
//     would still be left beside the new one, none is made (ErrBudget).
//   - A binding made and then not handed out (the entry could not be stored, it is for
//     another cluster, the answer was unreadable) is deleted before the call returns,
//     within 10 s; if even that fails, the made-bindings ledger that `kubectl kyma gc`
//     reads names it.
//   - Every bind is stamped first (the modification time of <entry>.minted, which a
//     full disk still allows); a binding made and lost less than 30 s ago makes the next
//     call fail fast, or hand out the still-valid token, without a bind.
//   - Trust bounds: the refresh-ahead share is 0.5 to 1, the margin at most half the
//     lifetime, and the lifetime itself is checked where the service's answer is read
//     (package binding): a Date header skewed by more than a few minutes is ignored,
//     and a lifetime outside what KEB grants falls back to the one asked for. The
//     expirationTimestamp handed out is never in the past nor after the expiry.
//
// # Refused tokens
//
// client-go runs the plugin a second time in the same process only after a 401, or once
// the handed-out expiry has passed. Each hand-out is recorded as a marker file named
// after the binding and the calling process, whose modification time is the expiry
// handed out; a caller that asks again before that time is suspected of holding a
// refused token. client-go also re-runs the plugin after a 401 that has other causes,
// and a shell loop calling the plugin has one parent process, so a suspicion is only
// acted on when the cluster confirms it: the slow path sends a SelfSubjectReview with
// the token to the server kubectl named, and hands the token out again if it is
// accepted. Only a 401 makes a new binding. Where the calling process cannot be told
// apart from a later one with the same PID (no start time: macOS, Windows) there is no
// detection at all.
//
// # No wait on a good token
//
// The first expiry handed out for a binding is its refresh-ahead point, so a long-lived
// client (k9s, a controller, `logs -f`) comes back while the token is good, is answered
// at once and starts the background refresh; at the due point the next binding is
// ready. A still-valid token is handed out for at most 30 s when another process has
// held the lock for BusyDeadline; a background refresh gives up after 90 s.
//
// # ID tokens and the clock
//
// A CI job's ID token (--oidc) is judged by the cluster, on the cluster's clock; the
// runner's clock may be off from it by hours either way. So the plugin never judges a
// token's exp on this machine's clock, and, whatever that clock's offset (the skew):
//
//   - A token GitHub's token service has just answered with is never refused for its
//     exp, and one read from a variable or a file never either: the cluster judges.
//     What is refused needs no clock: no exp, an exp at or before its own iat, an iat
//     more than a day after this machine's clock (one of the clocks is broken).
//   - A token's lifetime is its own claims' (exp less iat; less nbf when there is no
//     iat, as a backdated nbf overstates it; capped at an hour, which only costs an
//     earlier fetch), and a fetched token is cached from when the fetch began for that
//     lifetime, on this machine's clock. The service issued it no earlier, so it is
//     cached for no longer than it really lives: a cached token is never handed out
//     after its true expiry (the true time being this clock less the skew), nor
//     refused while it lives. An entry stamped after now (the clock stepped back) is
//     fetched again.
//   - The expirationTimestamp handed to kubectl is on this machine's clock: after now,
//     never after the anchored end, and before it by the bindings' margin while that
//     leaves time (a tenth of the lifetime, at least a minute, at most a third).
//   - A variable's or a file's token is read at every call, so its expiry is only a
//     hint: its exp less now, capped at its lifetime; and when this clock says it has
//     expired, at most a minute, with a warning on stderr (client-go runs the plugin
//     again after a 401, which reads the token again).
//   - Only a token with neither iat nor nbf has its lifetime read off this clock (exp
//     less now; a minute when that is not positive), and for it the second rule holds
//     only as far as this clock is right.
//
// TestPropertyOIDCSkew checks these on a fake clock over generated skews (two hours
// either way), lifetimes, claims, call times and herds, beside single flight: a herd of
// kubectl processes with an empty or stale entry fetches one token and shares it.
//
// A cache that cannot be written (a full disk, a folder that cannot be made) costs a
// fetch per call, never a token: what was fetched is handed out, with a warning, and
// no lock or half-written entry stays behind (OIDCCache.Do).
//
// # ID tokens and the cluster they go to
//
// An ID token is handed out only for the server kubectl is about to call: its
// audience is always that server's URL, from KUBERNETES_EXEC_INFO's
// spec.cluster.server, normalized (ClusterAudience: scheme and host in lower case, the
// scheme's default port dropped, one trailing slash removed, the path kept; no user,
// query or fragment), which is also the audience `oidc trust` gives every trust. So a
// token good at one cluster is never sent to another server, which could replay it:
//
//   - github asks the token service for that audience; an --audience that normalizes
//     to anything else is refused, naming both (a hostile kubeconfig pairs a victim's
//     audience with an attacker's server).
//   - gitlab and file read the token's aud claim (a string or a list, unverified: the
//     cluster checks the signature) and refuse a token whose aud does not name the
//     server, saying where to set it.
//   - Without KUBERNETES_EXEC_INFO (run by hand, or by a job's script) no server is
//     named and no token is printed, so none lands in a job's log; with it but no
//     spec.cluster (no provideClusterInfo), or with insecure-skip-tls-verify, neither.
package credential
