package plugin

import (
	"testing"

	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
)

func TestListFlags(t *testing.T) {
	testFlags(t, NewCmdList, []flagsCase[ListOptions]{
		{args: []string{"list"}, want: &ListOptions{}},
		{args: []string{"ls", "-o", "wide", "--no-headers"}, want: &ListOptions{out: printers.Flags{Output: "wide", NoHeaders: true}}},
		{args: []string{"list", "-o", "jsonpath={.items[*].id}"}, want: &ListOptions{out: printers.Flags{Output: "jsonpath={.items[*].id}"}}},
		{args: []string{"list", "-o", "xml"}, wantErr: `unknown output format "xml"`},
		{args: []string{"list", "-o", "jsonpath="}, wantErr: "-o jsonpath needs a template"},
		{args: []string{"list", "prod"}, wantErr: `unknown command "prod" for "kubectl kyma list"`},
	})
}

func TestGetFlags(t *testing.T) {
	testFlags(t, NewCmdGet, []flagsCase[GetOptions]{
		{args: []string{"get", "prod"}, want: &GetOptions{Arg: "prod"}},
		{args: []string{"get", "5A0F3E41-1111", "-o", "yaml"}, want: &GetOptions{Arg: "5A0F3E41-1111", out: printers.Flags{Output: "yaml"}}},
		{args: []string{"get"}, wantErr: "kubectl kyma get takes NAME|ID, got 0 arguments"},
		{args: []string{"get", "a", "b"}, wantErr: "kubectl kyma get takes NAME|ID, got 2 arguments"},
		{args: []string{"get", "prod", "-o", "go-template={{"}, wantErr: "-o go-template: "},
	})
}

func TestAvailableFlags(t *testing.T) {
	testFlags(t, NewCmdAvailable, []flagsCase[AvailableOptions]{
		{args: []string{"available"}, want: &AvailableOptions{}},
		{args: []string{"available", "-o", "name"}, want: &AvailableOptions{out: printers.Flags{Output: "name"}}},
		{args: []string{"available", "-o", "table"}, wantErr: `unknown output format "table"`},
		{args: []string{"available", "aws"}, wantErr: `unknown command "aws" for "kubectl kyma available"`},
	})
}
