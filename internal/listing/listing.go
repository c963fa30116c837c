// Package listing says how kubectl-kyma shows the services' objects, the way kubectl
// shows resources (internal/printers prints them): each kind's columns, those that
// only -o wide shows, its rows, and the objects that -o json and yaml print.
package listing

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-kyma/kubectl-kyma/internal/age"
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
	"github.com/kubectl-kyma/kubectl-kyma/internal/provisioning"
)

// Environments lists environments (get: single, one of them), their ages as of now.
func Environments(now time.Time, envs []provisioning.Environment, single bool) (printers.Listing, error) {
	l := printers.Listing{
		Kind:   "Environment",
		Single: single,
		Columns: []metav1.TableColumnDefinition{
			printers.Column("NAME", false), printers.Column("ID", false), printers.Column("STATE", false), printers.Column("PLAN", false),
			printers.Column("REGION", false), printers.Column("AGE", false),
			printers.Column("SUBACCOUNT", true), printers.Column("API SERVER", true), printers.Column("MESSAGE", true),
		},
	}
	for _, e := range envs {
		if err := l.Add(e, e.DisplayName(), e.DisplayName(), e.ID, e.State, e.PlanName, e.Parameters.String("region"), age.Of(now, e.CreatedDate.Time),
			e.SubaccountGUID, e.APIServerURL(), e.StateMessage); err != nil {
			return l, err
		}
	}
	return l, nil
}

// Available lists the Kyma plans among the subaccount's entitlements, with their
// regions: the first three in the table, all with -o wide.
func Available(avail []provisioning.AvailableEnvironment) (printers.Listing, error) {
	l := printers.Listing{
		Kind: "AvailableEnvironment",
		Columns: []metav1.TableColumnDefinition{
			printers.Column("PLAN", false), printers.Column("DESCRIPTION", false), printers.Column("REGIONS", false),
			printers.Column("ALL REGIONS", true), printers.Column("UPDATABLE", true), printers.Column("AVAILABILITY", true),
		},
	}
	for _, a := range avail {
		if !a.IsKyma() {
			continue
		}
		rs := a.Regions()
		if err := l.Add(a, a.PlanName, a.PlanName, a.Description, shortList(rs, 3),
			strings.Join(rs, ","), fmt.Sprint(a.PlanUpdatable), a.AvailabilityLevel); err != nil {
			return l, err
		}
	}
	return l, nil
}

// shortList joins the first n items and says how many more there are: a table row
// stays one screen wide; -o wide shows them all.
func shortList(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ",")
	}
	return fmt.Sprintf("%s,+%d more", strings.Join(items[:n], ","), len(items)-n)
}

// Bindings lists an environment's bindings, when made and when they expire as of
// now. A list never shows a kubeconfig: it holds a token.
func Bindings(now time.Time, bs []binding.Binding) (printers.Listing, error) {
	l := printers.Listing{
		Kind: "Binding",
		Columns: []metav1.TableColumnDefinition{
			printers.Column("ID", false), printers.Column("CREATED", false), printers.Column("EXPIRES", false), printers.Column("CREATED BY", true),
		},
	}
	for _, b := range bs {
		b.Kubeconfig = ""
		if err := l.Add(b, b.ID, b.ID, age.Of(now, b.CreatedAt), age.Expires(now, b.ExpiresAt), b.CreatedBy); err != nil {
			return l, err
		}
	}
	return l, nil
}

// Binding is one new binding, whole (its kubeconfig too), for bind -o.
func Binding(b *binding.Binding) (printers.Listing, error) {
	l := printers.Listing{Kind: "Binding", Single: true}
	err := l.Add(b, b.ID)
	return l, err
}
