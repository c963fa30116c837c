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
// A token the server refused: client-go runs the plugin a second time in the same
// process only after a 401 (or once the handed-out expiry has passed). Each hand-out is
// recorded as a marker file named after the binding and the calling process, so a
// second request from the same kubectl process for a binding that is not yet due means
// the server refused it: the plugin then makes a new binding instead of handing out the
// refused token again. The kubectl call that got the 401 fails; the next one works.
package credential
