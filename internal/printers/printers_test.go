package printers

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPrintFormats(t *testing.T) {
	l := Listing{
		Kind:    "Environment",
		Columns: []metav1.TableColumnDefinition{Column("NAME", false), Column("ID", true)},
		Items:   []json.RawMessage{json.RawMessage(`{"id":"e1"}`)},
		Rows:    [][]any{{"prod", "e1"}},
		Names:   []string{"prod"},
	}
	for _, c := range []struct{ output, want string }{
		{"", "NAME\nprod\n"},
		{"wide", "NAME   ID\nprod   e1\n"},
		{"name", "environment/prod\n"},
		{"jsonpath={.items[*].id}", "e1"},
		{"json", `"kind": "List"`},
	} {
		var out, errOut bytes.Buffer
		f := Flags{Output: c.output}
		if err := f.Print(&out, &errOut, l); err != nil {
			t.Fatalf("-o %q: %v", c.output, err)
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("-o %q printed %q, want %q in it", c.output, out.String(), c.want)
		}
	}
}

func TestEmptyTableSaysSo(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := (&Flags{}).Print(&out, &errOut, Listing{Kind: "Binding"}); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 || errOut.String() != "No resources found.\n" {
		t.Errorf("out %q, errOut %q", out.String(), errOut.String())
	}
}

func TestValidateRejectsUnknownFormats(t *testing.T) {
	for _, o := range []string{"xml", "jsonpath", "go-template", "jsonpath={.items["} {
		if err := (&Flags{Output: o}).Validate(); err == nil {
			t.Errorf("-o %q: no error", o)
		}
	}
}
