package provisioning

import (
	"fmt"
	"slices"
	"strings"
)

// IsKyma reports whether the environment is a Kyma one: a subaccount also lists its
// Cloud Foundry and other environments, which kubectl-kyma leaves alone.
func (e *Environment) IsKyma() bool { return isKyma(e.EnvironmentType) }

// IsKyma reports whether the plan is one of Kyma's.
func (a *AvailableEnvironment) IsKyma() bool { return isKyma(a.EnvironmentType) }

func isKyma(environmentType string) bool {
	return environmentType == "" || environmentType == EnvironmentTypeKyma
}

// FindKyma looks arg up among envs' Kyma environments, as a user names one: an id
// matches first, then a name, which must be unique. The error says what there is to
// name instead.
func FindKyma(envs []Environment, arg string) (*Environment, error) {
	var byName []Environment
	var have []string
	for _, e := range envs {
		if !e.IsKyma() {
			continue
		}
		if e.ID == arg {
			return &e, nil
		}
		if e.DisplayName() == arg {
			byName = append(byName, e)
		}
		have = append(have, fmt.Sprintf("%s (%s)", e.DisplayName(), e.ID))
	}
	switch len(byName) {
	case 1:
		return &byName[0], nil
	case 0:
		if len(have) == 0 {
			return nil, fmt.Errorf("no Kyma environment %q: the subaccount has none", arg)
		}
		slices.Sort(have)
		return nil, fmt.Errorf("no Kyma environment %q; the subaccount has: %s", arg, strings.Join(have, ", "))
	}
	ids := make([]string, len(byName))
	for i, e := range byName {
		ids[i] = e.ID
	}
	return nil, fmt.Errorf("%d Kyma environments are named %q: name one by id (%s)", len(byName), arg, strings.Join(ids, ", "))
}

// Regions are the regions the plan offers: the enum of a "region" property anywhere in
// its create schema (KEB nests the JSON schema under parameters, and the nesting
// differs between plans), sorted.
func (a *AvailableEnvironment) Regions() []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if props, ok := x["properties"].(map[string]any); ok {
				if r, ok := props["region"].(map[string]any); ok {
					if enum, ok := r["enum"].([]any); ok {
						for _, e := range enum {
							if s, ok := e.(string); ok && !slices.Contains(out, s) {
								out = append(out, s)
							}
						}
					}
				}
			}
			for _, val := range x {
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	walk(map[string]any(a.CreateSchema))
	slices.Sort(out)
	return out
}
