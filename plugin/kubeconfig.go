package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/privfile"
)

// execCommand is what the kubeconfig runs: the name on PATH, where Krew links it. Never
// `kubectl` (a whole kubectl start-up before each call) and never an absolute path into
// Krew's store (versioned: an upgrade deletes it).
const execCommand = "kubectl-kyma"

// KubeconfigOptions writes a kubeconfig whose user asks kubectl-kyma for tokens.
type KubeconfigOptions struct {
	f *Factory

	Arg         string
	Kubeconfig  string
	OutputFile  string
	ContextName string
	NoSwitch    bool
	Static      bool
	Expiration  expirationFlag
	Margin      time.Duration
	Ahead       float64
}

// NewCmdKubeconfig builds `kubectl kyma kubeconfig NAME|ID`.
func NewCmdKubeconfig(f *Factory) *cobra.Command {
	o := &KubeconfigOptions{f: f}
	cmd := &cobra.Command{
		Use:   "kubeconfig NAME|ID",
		Short: "Add the environment to your kubeconfig, with a user that never holds a stale token",
		Long: `Add a cluster, user and context named kyma-NAME to the kubeconfig that --kubeconfig,
KUBECONFIG or ~/.kube/config names (as kubectl config does), and switch to it.

The user runs 'kubectl-kyma credential' through client-go's exec mechanism: no token is
written to the file, and kubectl always gets a token that is valid.`,
		Example: `  kubectl kyma kubeconfig my-kyma && kubectl get pods -A
  kubectl kyma kubeconfig my-kyma --output-file kyma.yaml
  kubectl kyma kubeconfig my-kyma --static --expiration 2h --output-file kyma.yaml  # a plain token, as 'bind'`,
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Arg = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Kubeconfig, "kubeconfig", "", "the kubeconfig to merge into (default: $KUBECONFIG, else ~/.kube/config)")
	fl.StringVar(&o.OutputFile, "output-file", "", "write a standalone kubeconfig to this file instead of merging")
	fl.StringVar(&o.ContextName, "context-name", "", "name of the cluster, user and context (default: kyma-NAME)")
	fl.BoolVar(&o.NoSwitch, "no-switch", false, "merge, but leave the current context as it is")
	fl.BoolVar(&o.Static, "static", false, "write the binding's own token instead of the exec credential (it stops working when the binding expires)")
	fl.Var(&o.Expiration, "expiration", "lifetime of the bindings: seconds (600 to 7200) or a duration (10m to 2h)")
	fl.Float64Var(&o.Ahead, "refresh-ahead", 0, "share of a binding's lifetime after which kubectl-kyma makes the next one in the background (default 0.8; 1 turns it off)")
	fl.DurationVar(&o.Margin, "refresh-margin", 0, "make a new binding this long before the cached one expires (default: the larger of 1m and a tenth of its lifetime)")
	cmd.MarkFlagsMutuallyExclusive("kubeconfig", "output-file")
	return cmd
}

// Validate checks the flags before any network call.
func (o *KubeconfigOptions) Validate() error {
	if o.Margin < 0 {
		return errors.New("--refresh-margin must not be negative")
	}
	if o.Ahead < 0 || o.Ahead > 1 {
		return errors.New("--refresh-ahead is a share of the lifetime: from 0 to 1")
	}
	if o.Static && o.Margin != 0 {
		return errors.New("--refresh-margin goes with the exec credential, not --static")
	}
	return nil
}

// Run makes one binding (to learn the server and CA, and kept as the first cached
// credential), then writes the kubeconfig.
func (o *KubeconfigOptions) Run(ctx context.Context) error {
	p, err := o.f.Profile()
	if err != nil {
		return err
	}
	env, err := resolveEnvironment(ctx, o.f, o.Arg)
	if err != nil {
		return err
	}
	svc, err := o.f.Bindings()
	if err != nil {
		return err
	}
	b, err := svc.Create(ctx, env.ID, o.Expiration.d)
	if err != nil {
		return fmt.Errorf("bind %q: %w", env.Name, err)
	}
	e, err := entryOf(b, o.f.Now(), o.Expiration.d)
	if err != nil {
		return err
	}
	e.Environment = env.ID

	name := o.ContextName
	if name == "" {
		name = "kyma-" + env.Name
	}
	user := &clientcmdapi.AuthInfo{Token: e.Token}
	if !o.Static {
		dir, err := o.f.CacheDir()
		if err != nil {
			return err
		}
		if err := (credential.Cache{Dir: dir}).Store(credential.Key{Profile: p.Name, Environment: env.ID}, e); err != nil {
			return err
		}
		user = &clientcmdapi.AuthInfo{Exec: o.execConfig(p.Name, env.ID)}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: e.Server, CertificateAuthorityData: e.CAData}
	cfg.AuthInfos[name] = user
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name

	if o.OutputFile != "" {
		data, err := clientcmd.Write(*cfg)
		if err != nil {
			return fmt.Errorf("encode kubeconfig: %w", err)
		}
		if err := privfile.WriteAtomic(o.OutputFile, data); err != nil {
			return err
		}
		fmt.Fprintf(o.f.IOStreams.Out, "Wrote context %q to %s.\n", name, o.OutputFile)
		return nil
	}
	path, err := mergeKubeconfig(o.Kubeconfig, cfg, !o.NoSwitch)
	if err != nil {
		return err
	}
	verb := "Switched to"
	if o.NoSwitch {
		verb = "Added"
	}
	fmt.Fprintf(o.f.IOStreams.Out, "%s context %q in %s.\n", verb, name, path)
	return nil
}

// execConfig is the user stanza: kubectl runs kubectl-kyma credential, which never
// prompts (interactiveMode Never) and holds no secret in its arguments.
func (o *KubeconfigOptions) execConfig(profile, envID string) *clientcmdapi.ExecConfig {
	args := []string{"credential", "--profile", profile, "--environment", envID}
	if o.Expiration.d != 0 {
		args = append(args, "--expiration", o.Expiration.String())
	}
	if o.Margin != 0 {
		args = append(args, "--refresh-margin", o.Margin.String())
	}
	if o.Ahead != 0 {
		args = append(args, "--refresh-ahead", strconv.FormatFloat(o.Ahead, 'f', -1, 64))
	}
	return &clientcmdapi.ExecConfig{
		APIVersion:      "client.authentication.k8s.io/v1",
		Command:         execCommand,
		Args:            args,
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		// kubectl then says which cluster it calls, and the helper refuses to hand a
		// token to any other.
		ProvideClusterInfo: true,
		InstallHint: `kubectl-kyma is not installed: install it with
  kubectl krew install kyma
and log in with 'kubectl kyma login --service-key FILE'.`,
	}
}

// mergeKubeconfig adds cfg's entries to the kubeconfig kubectl would write to (the
// explicit path, else KUBECONFIG's files, else ~/.kube/config) with clientcmd's own
// rules, leaving every other entry as it was. It returns the file it wrote.
func mergeKubeconfig(explicit string, cfg *clientcmdapi.Config, switchTo bool) (string, error) {
	po := clientcmd.NewDefaultPathOptions()
	po.LoadingRules.ExplicitPath = explicit
	existing, err := po.GetStartingConfig()
	if err != nil {
		return "", fmt.Errorf("read the kubeconfig: %w", err)
	}
	for k, v := range cfg.Clusters {
		existing.Clusters[k] = v
	}
	for k, v := range cfg.AuthInfos {
		existing.AuthInfos[k] = v
	}
	for k, v := range cfg.Contexts {
		existing.Contexts[k] = v
	}
	if switchTo {
		existing.CurrentContext = cfg.CurrentContext
	}
	dest := po.GetDefaultFilename()
	if explicit != "" {
		dest = explicit
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return "", fmt.Errorf("create the kubeconfig's folder: %w", err)
	}
	if err := clientcmd.ModifyConfig(po, *existing, true); err != nil {
		return "", fmt.Errorf("write the kubeconfig: %w", err)
	}
	return dest, nil
}
