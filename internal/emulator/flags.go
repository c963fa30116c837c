package emulator

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// ParseFlags reads kyma-emulator's command line into Options. Usage and flag errors go to
// output; -h and --help return flag.ErrHelp.
func ParseFlags(args []string, output io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("kyma-emulator", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, `Usage: kyma-emulator --kubeconfig FILE --state-dir DIR [flags]

Serves SAP BTP's UAA token endpoint, Provisioning Service API and Kyma Environment
Broker API on loopback, backed by the Kubernetes API server of the admin kubeconfig.
Prints "kyma-emulator listening on https://127.0.0.1:PORT" once ready.
Admin endpoints, for loopback clients: GET /emulator/v1/stats, and POST, GET and
DELETE /emulator/v1/faults to inject faults, e.g. with a body of
{"route":"GET /provisioning/v1/environments","count":2,"status":503,"retryAfter":"1"}.

It is also a GitHub Actions OIDC provider: the issuer is its URL (discovery at
/.well-known/openid-configuration), and github-actions.env in the state folder holds
ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN of a job of
--oidc-repository. POST /emulator/v1/github-actions/jobs with {"repository":"o/r"}
makes another job and answers its two variables as JSON.

Flags:
`)
		fs.PrintDefaults()
	}
	var bindable string
	fs.StringVar(&o.Addr, "addr", DefaultAddr, "listen `address`; loopback only (port 0 picks a free port)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "admin kubeconfig `file` of the Kubernetes API server that backs the bindings (required)")
	fs.StringVar(&o.StateDir, "state-dir", "", "`folder` for the CA, credentials, client files and state, kept across restarts (required)")
	fs.DurationVar(&o.ProvisioningDelay, "provisioning-delay", DefaultProvisioningDelay, "how long an environment stays CREATING, and DELETING")
	fs.DurationVar(&o.BindingTTL, "binding-ttl", 0, "report this lifetime for new bindings and revoke their tokens when it ends (0: the requested expiration)")
	fs.DurationVar(&o.BindDelay, "bind-delay", 0, "sleep this long before making a binding's Kubernetes objects (slow-bind tests)")
	fs.DurationVar(&o.DateSkew, "date-skew", 0, "offset the Date header of every answer by this much (e.g. 1h or -1h), as a service with a skewed clock")
	fs.DurationVar(&o.BindTimeout, "bind-timeout", DefaultBindTimeout, "bound on a create-binding request, as KEB's CreateBindingTimeout")
	fs.StringVar(&bindable, "bindable-plans", strings.Join(DefaultBindablePlans(), ","), "comma-separated `plans` that allow bindings")
	fs.StringVar(&o.Region, "region", DefaultRegion, "platform `region` of the emulated subaccount (KEB's default request region)")
	fs.StringVar(&o.OIDCRepository, "oidc-repository", DefaultOIDCRepository, "`OWNER/REPO` of the GitHub Actions job that github-actions.env is for")
	fs.DurationVar(&o.OIDCTokenTTL, "oidc-token-ttl", DefaultOIDCTokenTTL, "lifetime of the GitHub Actions ID tokens the emulator issues")
	fs.StringVar(&o.TokenWebhookAddr, "token-webhook-addr", "", "serve the cluster's OpenIDConnect token webhook on this loopback `address` (the one in the apiserver's webhook config; make dev-up)")
	fs.StringVar(&o.TokenWebhookCert, "token-webhook-cert", "", "serving certificate `file` (PEM) of the token webhook")
	fs.StringVar(&o.TokenWebhookKey, "token-webhook-key", "", "serving key `file` (PEM) of the token webhook")
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	o.BindablePlans = []string{}
	for _, p := range strings.Split(bindable, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.BindablePlans = append(o.BindablePlans, p)
		}
	}
	return o, nil
}
