package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kubectl-kyma/kubectl-kyma/credential"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
)

// expirationFlag is a binding lifetime given as seconds (600) or a duration (10m).
type expirationFlag struct{ d time.Duration }

func (e *expirationFlag) String() string {
	if e.d == 0 {
		return ""
	}
	return strconv.Itoa(int(e.d.Seconds()))
}

func (e *expirationFlag) Set(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		e.d = time.Duration(n) * time.Second
	} else if d, err := time.ParseDuration(s); err == nil {
		e.d = d
	} else {
		return fmt.Errorf("%q is neither seconds nor a duration like 1h", s)
	}
	if e.d < binding.MinExpiration || e.d > binding.MaxExpiration {
		return fmt.Errorf("a binding lives from 600 to 7200 seconds (10m to 2h), not %s", s)
	}
	return nil
}

func (e *expirationFlag) Type() string { return "seconds" }

// BindOptions makes a binding and prints its kubeconfig.
type BindOptions struct {
	f *Factory

	Arg        string
	Expiration expirationFlag
	out        outputFlags
}

// NewCmdBind builds `kubectl kyma bind NAME|ID`.
func NewCmdBind(f *Factory) *cobra.Command {
	o := &BindOptions{f: f}
	cmd := &cobra.Command{
		Use:   "bind NAME|ID",
		Short: "Make a binding and print its kubeconfig, which holds a short-lived token",
		Long: `Make a binding of the environment and print its kubeconfig. The token in it stops
working when the binding expires (10 minutes by default, 2 hours at most). For a
kubeconfig that never holds a stale token, use 'kubectl kyma kubeconfig'.`,
		Example: `  kubectl kyma bind my-kyma --expiration 1h > kyma.yaml
  kubectl kyma bind my-kyma -o json   # the whole binding: id, expiry, kubeconfig`,
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Arg = args[0]
			if o.out.Output != "" {
				if err := o.out.validate(); err != nil {
					return err
				}
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().Var(&o.Expiration, "expiration", "the binding's lifetime: seconds (600 to 7200) or a duration (10m to 2h); default the service's, 600")
	cmd.Flags().StringVarP(&o.out.Output, "output", "o", "", "json, yaml, jsonpath=... or go-template=... for the whole binding; default: its kubeconfig")
	return cmd
}

// Run makes the binding.
func (o *BindOptions) Run(ctx context.Context) error {
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
		return explainLimit(ctx, o.f, svc, env, fmt.Errorf("bind %q: %w", env.Name, err))
	}
	recordMade(o.f, env.ID, b.ID, madeByBind)
	if o.out.Output == "" {
		_, err := fmt.Fprint(o.f.IOStreams.Out, b.Kubeconfig)
		if !b.ExpiresAt.IsZero() {
			fmt.Fprintf(o.f.IOStreams.ErrOut, "binding/%s expires at %s\n", b.ID, b.ExpiresAt.Local().Format(time.RFC3339))
		}
		return err
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return o.out.print(o.f.IOStreams.Out, o.f.IOStreams.ErrOut, listing{Kind: "Binding", Single: true, Items: []json.RawMessage{raw}, Names: []string{b.ID}})
}

// NewCmdBindings builds `kubectl kyma bindings NAME|ID`.
func NewCmdBindings(f *Factory) *cobra.Command {
	var out outputFlags
	cmd := &cobra.Command{
		Use:               "bindings NAME|ID",
		Short:             "List an environment's bindings",
		Args:              exactArgs("NAME|ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			env, err := resolveEnvironment(ctx, f, args[0])
			if err != nil {
				return err
			}
			svc, err := f.Bindings()
			if err != nil {
				return err
			}
			bs, err := svc.List(ctx, env.ID)
			if err != nil {
				return fmt.Errorf("list the bindings of %q: %w", env.Name, err)
			}
			l := listing{
				Kind: "Binding",
				Columns: []metav1.TableColumnDefinition{
					column("ID", false), column("CREATED", false), column("EXPIRES", false), column("CREATED BY", true),
				},
			}
			now := f.Clock.Now()
			for _, b := range bs {
				b.Kubeconfig = "" // a list never shows tokens
				raw, err := json.Marshal(b)
				if err != nil {
					return err
				}
				l.Items = append(l.Items, raw)
				l.Names = append(l.Names, b.ID)
				l.Rows = append(l.Rows, []any{b.ID, age(now, b.CreatedAt), expiresIn(now, b.ExpiresAt), b.CreatedBy})
			}
			return out.print(f.IOStreams.Out, f.IOStreams.ErrOut, l)
		},
	}
	out.addFlags(cmd)
	return cmd
}

// expiresIn says when a binding expires, relative to now.
func expiresIn(now, t time.Time) string {
	switch {
	case t.IsZero():
		return "<unknown>"
	case t.Before(now):
		return "expired " + age(now, t) + " ago"
	}
	return "in " + duration.HumanDuration(t.Sub(now))
}

// NewCmdUnbind builds `kubectl kyma unbind NAME|ID BINDING_ID`.
func NewCmdUnbind(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "unbind NAME|ID BINDING_ID",
		Short:             "Revoke a binding: its token is refused from then on",
		Args:              exactArgs("NAME|ID", "BINDING_ID"),
		ValidArgsFunction: completeEnvironments(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			env, err := resolveEnvironment(ctx, f, args[0])
			if err != nil {
				return err
			}
			svc, err := f.Bindings()
			if err != nil {
				return err
			}
			if err := svc.Delete(ctx, env.ID, args[1]); err != nil {
				if errors.Is(err, binding.ErrNotFound) {
					return fmt.Errorf("environment %q has no binding %s", env.Name, args[1])
				}
				return fmt.Errorf("unbind %s: %w", args[1], err)
			}
			forgetCached(f, env.ID, args[1])
			fmt.Fprintf(f.IOStreams.Out, "binding/%s deleted\n", args[1])
			return nil
		},
	}
}

// forgetCached drops this machine's cached credential if it holds the revoked binding,
// so the next kubectl call makes a new binding at once rather than after a 401.
func forgetCached(f *Factory, envID, bindingID string) {
	p, err := f.Profile()
	if err != nil {
		return
	}
	dir, err := f.CacheDir()
	if err != nil {
		return
	}
	cache := credential.Cache{Dir: dir}
	key := credential.Key{Profile: p.Name, Environment: envID}
	if e := cache.Load(key); e != nil && e.BindingID == bindingID {
		_ = cache.Remove(key)
	}
}
