package plugin

import (
	"github.com/kubectl-kyma/kubectl-kyma/internal/printers"
	"testing"
	"time"
)

func TestBindFlags(t *testing.T) {
	testFlags(t, NewCmdBind, []flagsCase[BindOptions]{
		{args: []string{"bind", "prod"}, want: &BindOptions{Arg: "prod"}},
		{args: []string{"bind", "prod", "--expiration", "3600", "-o", "json"},
			want: &BindOptions{Arg: "prod", Expiration: expirationFlag{time.Hour}, out: printers.Flags{Output: "json"}}},
		{args: []string{"bind", "prod", "--expiration", "15m"}, want: &BindOptions{Arg: "prod", Expiration: expirationFlag{15 * time.Minute}}},
		{args: []string{"bind"}, wantErr: "kubectl kyma bind takes NAME|ID, got 0 arguments"},
		{args: []string{"bind", "prod", "--expiration", "3h"}, wantErr: "a binding lives from 600 to 7200 seconds (10m to 2h), not 3h"},
		{args: []string{"bind", "prod", "--expiration", "soon"}, wantErr: `"soon" is neither seconds nor a duration like 1h`},
		{args: []string{"bind", "prod", "--expiration", "18446744074"}, wantErr: `"18446744074" seconds is out of range`},
		{args: []string{"bind", "prod", "-o", "wide2"}, wantErr: `unknown output format "wide2"`},
	})
}

func TestBindingsFlags(t *testing.T) {
	testFlags(t, NewCmdBindings, []flagsCase[BindingsOptions]{
		{args: []string{"bindings", "prod"}, want: &BindingsOptions{Arg: "prod"}},
		{args: []string{"bindings", "prod", "-o", "wide"}, want: &BindingsOptions{Arg: "prod", out: printers.Flags{Output: "wide"}}},
		{args: []string{"bindings"}, wantErr: "kubectl kyma bindings takes NAME|ID, got 0 arguments"},
		{args: []string{"bindings", "prod", "-o", "csv"}, wantErr: `unknown output format "csv"`},
	})
}

func TestUnbindFlags(t *testing.T) {
	testFlags(t, NewCmdUnbind, []flagsCase[UnbindOptions]{
		{args: []string{"unbind", "prod", "b-1"}, want: &UnbindOptions{Arg: "prod", BindingID: "b-1"}},
		{args: []string{"unbind", "prod"}, wantErr: "kubectl kyma unbind takes NAME|ID BINDING_ID, got 1 arguments"},
		{args: []string{"unbind", "prod", "b-1", "--all"}, wantErr: "unknown flag: --all"},
	})
}
