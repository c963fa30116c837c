package provisioning

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindKyma(t *testing.T) {
	envs := []Environment{
		{ID: "E1", Name: "prod", EnvironmentType: EnvironmentTypeKyma},
		{ID: "E2", Name: "dev", EnvironmentType: EnvironmentTypeKyma},
		{ID: "E3", Name: "dev", EnvironmentType: EnvironmentTypeKyma},
		{ID: "E4", Name: "E1", EnvironmentType: EnvironmentTypeKyma},
		{ID: "cf-1", Name: "cf", EnvironmentType: "cloudfoundry"},
	}
	for _, tc := range []struct {
		envs            []Environment
		arg, id, errMsg string
	}{
		{envs: envs, arg: "prod", id: "E1"},
		{envs: envs, arg: "E2", id: "E2"},
		{envs: envs, arg: "E1", id: "E1"}, // an id before a name
		{envs: envs, arg: "dev", errMsg: `2 Kyma environments are named "dev": name one by id (E2, E3)`},
		{envs: envs, arg: "cf", errMsg: `no Kyma environment "cf"; the subaccount has: E1 (E4), dev (E2), dev (E3), prod (E1)`},
		{envs: envs[4:], arg: "prod", errMsg: `no Kyma environment "prod": the subaccount has none`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			e, err := FindKyma(tc.envs, tc.arg)
			switch {
			case tc.errMsg != "":
				if err == nil || err.Error() != tc.errMsg {
					t.Errorf("error = %v, want %q", err, tc.errMsg)
				}
			case err != nil:
				t.Fatal(err)
			case e.ID != tc.id:
				t.Errorf("found %s, want %s", e.ID, tc.id)
			}
		})
	}
}

// The region enum stands at different depths in different plans' schemas.
func TestRegions(t *testing.T) {
	a := AvailableEnvironment{CreateSchema: Object{"parameters": map[string]any{
		"properties": map[string]any{"region": map[string]any{"enum": []any{"westeurope", "eastus"}}},
		"oneOf":      []any{map[string]any{"properties": map[string]any{"region": map[string]any{"enum": []any{"eastus", "japaneast", 3}}}}},
	}}}
	if diff := cmp.Diff([]string{"eastus", "japaneast", "westeurope"}, a.Regions()); diff != "" {
		t.Errorf("regions (-want +got):\n%s", diff)
	}
	if got := (&AvailableEnvironment{}).Regions(); got != nil {
		t.Errorf("regions of an empty schema = %v", got)
	}
}
