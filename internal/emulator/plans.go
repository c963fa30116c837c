package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Identifiers of KEB's service and plans (internal/broker/plans.go and broker.go in
// kyma-project/kyma-environment-broker).
const (
	kymaServiceID   = "47c9dcbf-ff30-448e-ab36-d3bad66ba281"
	kymaServiceName = "kymaruntime"
	environmentType = "kyma"
	trialPlanName   = "trial"
)

// plan is one Kyma plan: its ids and what its provisioning schema offers.
type plan struct {
	name        string
	id          string
	description string
	// regions maps a platform region to the cluster regions offered there; "" is the
	// default for platform regions not listed (KEB's plans.yaml).
	regions map[string][]string
	// machineTypes are the plan's regular machine types; none for trial and free.
	machineTypes []string
	// autoScaler bounds: min, max, default min, default max.
	autoScaler [4]int
	// updatable is the CIS planUpdatable flag: only free may move to a paid plan.
	updatable bool
}

// plans returns KEB's plans as kyma-project/kyma-environment-broker configures them
// (resources/keb/files/catalog.yaml, internal/broker/testdata/plans.yaml). It is a
// function, not a package variable, so no binary pays for the table at start-up.
func plans() []plan {
	awsRegions := map[string][]string{
		"cf-eu11": {"eu-central-1"},
		"":        {"eu-central-1", "eu-west-2", "ca-central-1", "sa-east-1", "us-east-1", "us-west-2", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2"},
	}
	azureRegions := map[string][]string{
		"cf-ch20": {"switzerlandnorth"},
		"":        {"eastus", "centralus", "westus2", "uksouth", "northeurope", "westeurope", "japaneast", "southeastasia", "australiaeast", "brazilsouth", "canadacentral"},
	}
	azureMachines := []string{"Standard_D2s_v5", "Standard_D4s_v5", "Standard_D8s_v5", "Standard_D16s_v5", "Standard_D32s_v5", "Standard_D48s_v5", "Standard_D64s_v5", "Standard_D4_v3", "Standard_D8_v3", "Standard_D16_v3", "Standard_D32_v3", "Standard_D48_v3", "Standard_D64_v3"}
	regular := [4]int{3, 300, 3, 20}
	return []plan{
		{
			name: "aws", id: "361c511f-f939-4621-b228-d0fb79a1fe15", description: "AWS",
			regions:      awsRegions,
			machineTypes: []string{"m6i.large", "m6i.xlarge", "m6i.2xlarge", "m6i.4xlarge", "m6i.8xlarge", "m6i.12xlarge", "m6i.16xlarge", "m5.large", "m5.xlarge", "m5.2xlarge", "m5.4xlarge", "m5.8xlarge", "m5.12xlarge", "m5.16xlarge"},
			autoScaler:   regular,
		},
		{
			name: "azure", id: "4deee563-e5ec-4731-b9b1-53b42d855f0c", description: "Azure",
			regions: azureRegions, machineTypes: azureMachines, autoScaler: regular,
		},
		{
			name: "azure_lite", id: "8cb22518-aa26-44c5-91a0-e669ec9bf443", description: "Azure Lite",
			regions:      azureRegions,
			machineTypes: []string{"Standard_D2s_v5", "Standard_D4s_v5", "Standard_D4_v3"},
			autoScaler:   [4]int{2, 40, 2, 10},
		},
		{
			name: "gcp", id: "ca6e5357-707f-4565-bbbd-b3ab732597c6", description: "GCP",
			regions: map[string][]string{
				"cf-sa30": {"me-central2"},
				"":        {"europe-west3", "asia-south1", "us-central1", "me-central2", "asia-northeast2", "me-west1", "southamerica-east1", "australia-southeast1", "asia-northeast1", "asia-southeast1", "us-west1", "us-east4", "europe-west4"},
			},
			machineTypes: []string{"n2-standard-2", "n2-standard-4", "n2-standard-8", "n2-standard-16", "n2-standard-32", "n2-standard-48", "n2-standard-64"},
			autoScaler:   regular,
		},
		{
			name: "sap-converged-cloud", id: "03b812ac-c991-4528-b5bd-08b303523a63", description: "SAP Converged Cloud",
			// No default: the plan exists only in these platform regions.
			regions: map[string][]string{
				"cf-eu20": {"eu-de-1"}, "cf-ap10": {"ap-au-1"}, "cf-us10": {"na-us-1"}, "cf-jp10": {"ap-jp-1"},
				"cf-eu01": {"eu-de-2"}, "cf-eu10": {"eu-de-2"}, "cf-us20": {"na-us-2"}, "cf-in30": {"ap-ae-1"},
			},
			machineTypes: []string{"g_c2_m8", "g_c4_m16", "g_c6_m24", "g_c8_m32", "g_c12_m48", "g_c16_m64", "g_c32_m128", "g_c64_m256"},
			autoScaler:   regular,
		},
		// Trial has no region parameter: KEB picks one from the platform region.
		{name: trialPlanName, id: "7d55d31d-35ae-4438-bf13-6ffdfa107d9f", description: "Trial"},
		{name: "free", id: "b1a5764e-2ea1-4f95-94c0-2b4538b37b55", description: "Free", regions: awsRegions, updatable: true},
	}
}

// planByName returns the plan called name, or nil.
func planByName(name string) *plan {
	for _, p := range plans() {
		if p.name == name {
			return &p
		}
	}
	return nil
}

// planByID returns the plan whose id is id, or nil.
func planByID(id string) *plan {
	for _, p := range plans() {
		if p.id == id {
			return &p
		}
	}
	return nil
}

// planNames lists the plans' names in catalog order.
func planNames() []string {
	var names []string
	for _, p := range plans() {
		names = append(names, p.name)
	}
	return names
}

// regionsFor returns the cluster regions the plan offers in a platform region; nil for
// a plan without a region parameter (trial).
func (p *plan) regionsFor(platformRegion string) []string {
	if p.regions == nil {
		return nil
	}
	if r, ok := p.regions[platformRegion]; ok {
		return r
	}
	if r, ok := p.regions[""]; ok {
		return r
	}
	// A platform region the plan is not configured for: offer every region it has,
	// rather than an empty enum that no request could satisfy.
	var all []string
	for _, rs := range p.regions {
		for _, r := range rs {
			if !slices.Contains(all, r) {
				all = append(all, r)
			}
		}
	}
	slices.Sort(all)
	return all
}

// createSchema is the plan's provisioning parameters schema in KEB's shape (a JSON Schema
// draft 4 object with KEB's UI hints), cut down to the properties the emulator checks.
func (p *plan) createSchema(platformRegion string) map[string]any {
	props := map[string]any{
		"name": map[string]any{
			"_BTPdefaultTemplate": map[string]any{"elements": []string{"saSubdomain"}},
			"minLength":           1,
			"pattern":             "^[a-zA-Z0-9-]*$",
			"title":               "Cluster Name",
			"type":                "string",
		},
		"administrators": administratorsSchema(),
	}
	order := []string{"name"}
	required := []string{"name"}
	if regions := p.regionsFor(platformRegion); regions != nil {
		props["region"] = map[string]any{"enum": regions, "minLength": 1, "type": "string"}
		order = append(order, "region")
		required = append(required, "region")
	}
	order = append(order, p.sizeProperties(props)...)
	order = append(order, "administrators")
	return map[string]any{
		"$schema":              "http://json-schema.org/draft-04/schema#",
		"_controlsOrder":       order,
		"_load_current_config": true,
		"_show_form_view":      true,
		"properties":           props,
		"required":             required,
		"type":                 "object",
	}
}

// updateSchema is the plan's update parameters schema: what can change after creation.
func (p *plan) updateSchema() map[string]any {
	props := map[string]any{"administrators": administratorsSchema()}
	order := append(p.sizeProperties(props), "administrators")
	return map[string]any{
		"$schema":              "http://json-schema.org/draft-04/schema#",
		"_controlsOrder":       order,
		"_load_current_config": true,
		"_show_form_view":      true,
		"properties":           props,
		"type":                 "object",
	}
}

// sizeProperties adds machineType and the autoscaler bounds for plans that have them and
// returns their names in display order.
func (p *plan) sizeProperties(props map[string]any) []string {
	if len(p.machineTypes) == 0 {
		return nil
	}
	props["machineType"] = map[string]any{
		"description": "Specifies the type of the virtual machine.",
		"enum":        p.machineTypes,
		"type":        "string",
	}
	a := p.autoScaler
	props["autoScalerMin"] = map[string]any{"default": a[2], "description": "Specifies the minimum number of virtual machines to create", "maximum": a[1], "minimum": a[0], "type": "integer"}
	props["autoScalerMax"] = map[string]any{"default": a[3], "description": "Specifies the maximum number of virtual machines to create", "maximum": a[1], "minimum": a[0], "type": "integer"}
	return []string{"machineType", "autoScalerMin", "autoScalerMax"}
}

func administratorsSchema() map[string]any {
	return map[string]any{
		"description": "Specifies the list of runtime administrators.",
		"items":       map[string]any{"type": "string"},
		"title":       "Administrators",
		"type":        "array",
	}
}

// validateParameters checks provisioning parameters as KEB's schema validation would, for
// the properties the emulator's schema has; unknown properties pass, as in KEB.
func (p *plan) validateParameters(raw json.RawMessage, platformRegion string) error {
	var params map[string]any
	if len(raw) == 0 || string(raw) == "null" {
		params = map[string]any{}
	} else if err := json.Unmarshal(raw, &params); err != nil {
		return fmt.Errorf("while unmarshaling raw parameters: %w", err)
	}
	name, ok := params["name"].(string)
	switch {
	case params["name"] == nil:
		return fmt.Errorf("while validating input parameters: missing property 'name'")
	case !ok:
		return fmt.Errorf("while validating input parameters: at '/name': got %T, want string", params["name"])
	case name == "":
		return fmt.Errorf("while validating input parameters: at '/name': minLength: got 0, want 1")
	case strings.IndexFunc(name, func(r rune) bool { return !isAlnum(r) && r != '-' }) >= 0:
		return fmt.Errorf("while validating input parameters: at '/name': %q does not match pattern '^[a-zA-Z0-9-]*$'", name)
	}
	if regions := p.regionsFor(platformRegion); regions != nil {
		region, _ := params["region"].(string)
		switch {
		case params["region"] == nil:
			return fmt.Errorf("while validating input parameters: missing property 'region'")
		case !slices.Contains(regions, region):
			return fmt.Errorf("while validating input parameters: at '/region': value must be one of %s", quoteList(regions))
		}
	}
	if mt, present := params["machineType"]; present && len(p.machineTypes) > 0 {
		if s, _ := mt.(string); !slices.Contains(p.machineTypes, s) {
			return fmt.Errorf("while validating input parameters: at '/machineType': value must be one of %s", quoteList(p.machineTypes))
		}
	}
	return nil
}

// environmentName returns the "name" provisioning parameter.
func environmentName(raw json.RawMessage) string {
	var params struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(raw, &params) // validated before; a bad value leaves it empty
	return params.Name
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
