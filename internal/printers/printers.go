// Package printers prints what kubectl-kyma lists as kubectl prints resources: a table
// built from the rows each command gives, or the objects as json, yaml, name, jsonpath
// or go-template. The cli-runtime printers do the printing; this package chooses them.
package printers

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/printers"
)

// APIVersion marks what kubectl-kyma prints as its own objects, so -o json and -o yaml
// output can be told from a Kubernetes resource.
const APIVersion = "kubectl-kyma.kyma-project.io/v1"

// Flags is kubectl's -o flag for commands that print objects.
type Flags struct {
	Output    string
	NoHeaders bool
}

// AddFlags declares -o and --no-headers on cmd.
func (o *Flags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: one of (json, yaml, name, wide, jsonpath=..., go-template=...)")
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "print tables without headers")
}

// printer returns the printer for -o; tables come from the rows each command builds.
func (o *Flags) printer() (printers.ResourcePrinter, error) {
	format, arg, _ := strings.Cut(o.Output, "=")
	switch format {
	case "", "wide":
		return printers.NewTablePrinter(printers.PrintOptions{Wide: format == "wide", NoHeaders: o.NoHeaders}), nil
	case "json":
		return &printers.JSONPrinter{}, nil
	case "yaml":
		return &printers.YAMLPrinter{}, nil
	case "name":
		return nil, nil // print writes kind/name itself: these objects have no metadata.name
	case "jsonpath":
		if arg == "" {
			return nil, fmt.Errorf("-o jsonpath needs a template, as in -o jsonpath='{.items[*].id}'")
		}
		p, err := printers.NewJSONPathPrinter(arg)
		if err != nil {
			return nil, fmt.Errorf("-o jsonpath: %w", err)
		}
		p.AllowMissingKeys(true)
		return p, nil
	case "go-template":
		if arg == "" {
			return nil, fmt.Errorf("-o go-template needs a template, as in -o go-template='{{.id}}'")
		}
		p, err := printers.NewGoTemplatePrinter([]byte(arg))
		if err != nil {
			return nil, fmt.Errorf("-o go-template: %w", err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("unknown output format %q: use json, yaml, name, wide, jsonpath=TEMPLATE or go-template=TEMPLATE", o.Output)
}

// Validate checks -o before any network call.
func (o *Flags) Validate() error {
	_, err := o.printer()
	return err
}

// Listing is what a command prints: the service's objects as they came, and how to show
// them as a table.
type Listing struct {
	Kind    string // Environment, Binding, AvailableEnvironment
	Columns []metav1.TableColumnDefinition
	Items   []json.RawMessage // each the service's own JSON
	Rows    [][]any           // one per item, matching Columns
	Names   []string          // one per item, for -o name
	Single  bool              // a get of one object: print it, not a List
}

// Print writes l in the -o format; an empty list says so on stderr, as kubectl does.
func (o *Flags) Print(out, errOut io.Writer, l Listing) error {
	p, err := o.printer()
	if err != nil {
		return err
	}
	if len(l.Items) == 0 && !l.Single {
		if o.Output == "" || o.Output == "wide" {
			fmt.Fprintln(errOut, "No resources found.")
			return nil
		}
	}
	format, _, _ := strings.Cut(o.Output, "=")
	if format == "name" {
		for _, n := range l.Names {
			fmt.Fprintf(out, "%s/%s\n", strings.ToLower(l.Kind), n)
		}
		return nil
	}
	if format == "" || format == "wide" {
		t := &metav1.Table{ColumnDefinitions: l.Columns}
		for _, r := range l.Rows {
			t.Rows = append(t.Rows, metav1.TableRow{Cells: r})
		}
		return p.PrintObj(t, out)
	}
	objs := make([]any, 0, len(l.Items))
	for _, raw := range l.Items {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("decode %s: %w", l.Kind, err)
		}
		m["apiVersion"], m["kind"] = APIVersion, l.Kind
		objs = append(objs, m)
	}
	if l.Single && len(objs) == 1 {
		return p.PrintObj(&unstructured.Unstructured{Object: objs[0].(map[string]any)}, out)
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": objs}
	return p.PrintObj(&unstructured.Unstructured{Object: list}, out)
}

// Column builds a table column; wide columns show only with -o wide.
func Column(name string, wide bool) metav1.TableColumnDefinition {
	c := metav1.TableColumnDefinition{Name: name, Type: "string"}
	if wide {
		c.Priority = 1
	}
	return c
}

// Add appends one object to l: obj as JSON for -o json, yaml and the templates, name
// for -o name, and row (matching Columns) for the table.
func (l *Listing) Add(obj any, name string, row ...any) error {
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	l.Items, l.Names = append(l.Items, raw), append(l.Names, name)
	if row != nil {
		l.Rows = append(l.Rows, row)
	}
	return nil
}
