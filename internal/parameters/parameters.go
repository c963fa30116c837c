// Package parameters reads the parameters of a Kyma environment that a user gives
// with --parameters (provision, update): a JSON object, or @FILE holding one, such as
//
//	{"machineType": "m6i.xlarge", "autoScalerMax": 5, "administrators": ["me@example.com"]}
//
// and merges into them the ones that flags also set. Numbers keep their exact text
// (json.Number), so a parameter reaches the service as the user wrote it.
package parameters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Read reads --parameters: a JSON object, or @FILE holding one. An empty flag is no
// parameters (nil).
func Read(flag string) (map[string]any, error) {
	if flag == "" {
		return nil, nil
	}
	raw, what := []byte(flag), "--parameters"
	if name, ok := strings.CutPrefix(flag, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read --parameters file: %w", err)
		}
		raw, what = b, "the --parameters file "+name
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil || p == nil {
		return nil, fmt.Errorf("%s is not a JSON object such as '{\"machineType\":\"m6i.xlarge\"}'", what)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s holds more than one JSON value", what)
	}
	return p, nil
}

// Create makes the create parameters of an environment: p (from Read, may be nil)
// with name and region set from the NAME argument and --region, which a parameter may
// repeat but not contradict. The region is --region, else the parameters' region; it
// is returned too, empty when neither gives one.
func Create(p map[string]any, name, region string) (map[string]any, string, error) {
	if err := agree(p, "name", name, "the NAME argument"); err != nil {
		return nil, "", err
	}
	if err := agree(p, "region", region, "--region"); err != nil {
		return nil, "", err
	}
	if region == "" {
		region, _ = p["region"].(string)
	}
	out := make(map[string]any, len(p)+2)
	for k, v := range p {
		out[k] = v
	}
	out["name"], out["region"] = name, region
	return out, region, nil
}

// agree checks that a parameter, when given, has the value a flag gives it.
func agree(p map[string]any, key, flagValue, flagName string) error {
	v, ok := p[key]
	if !ok || flagValue == "" {
		return nil
	}
	if s, _ := v.(string); s != flagValue {
		return fmt.Errorf("--parameters sets %s to %s but %s says %q: give it once, or the same in both", key, jsonText(v), flagName, flagValue)
	}
	return nil
}

// jsonText is v as JSON, for messages.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
