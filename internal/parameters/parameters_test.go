package parameters

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.json")
	if err := os.WriteFile(file, []byte(`{"autoScalerMax":5,"administrators":["a@example.com"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[1]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, flag string
		want       map[string]any
		wantErr    string
	}{
		{"empty", "", nil, ""},
		{"inline, numbers exact", `{"autoScalerMax":7,"ratio":1.50}`, map[string]any{"autoScalerMax": json.Number("7"), "ratio": json.Number("1.50")}, ""},
		{"file", "@" + file, map[string]any{"autoScalerMax": json.Number("5"), "administrators": []any{"a@example.com"}}, ""},
		{"array", `[1,2]`, nil, `--parameters is not a JSON object such as '{"machineType":"m6i.xlarge"}'`},
		{"null", `null`, nil, `--parameters is not a JSON object`},
		{"two values", `{"a":1} {"b":2}`, nil, "--parameters holds more than one JSON value"},
		{"file not an object", "@" + bad, nil, "the --parameters file " + bad + " is not a JSON object"},
		{"missing file", "@" + file + ".missing", nil, "read --parameters file: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(tc.flag)
			if !wantError(t, err, tc.wantErr) {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		params     map[string]any
		region     string
		want       map[string]any
		wantRegion string
		wantErr    string
	}{
		{"flags only", nil, "eu-central-1", map[string]any{"name": "t1", "region": "eu-central-1"}, "eu-central-1", ""},
		{"merged", map[string]any{"machineType": "m6i.xlarge"}, "eu-central-1",
			map[string]any{"machineType": "m6i.xlarge", "name": "t1", "region": "eu-central-1"}, "eu-central-1", ""},
		{"region from parameters", map[string]any{"region": "us-east-1", "name": "t1"}, "",
			map[string]any{"name": "t1", "region": "us-east-1"}, "us-east-1", ""},
		{"same in both", map[string]any{"region": "us-east-1"}, "us-east-1",
			map[string]any{"name": "t1", "region": "us-east-1"}, "us-east-1", ""},
		{"no region", map[string]any{"machineType": "m6i.xlarge"}, "",
			map[string]any{"machineType": "m6i.xlarge", "name": "t1", "region": ""}, "", ""},
		{"name disagrees", map[string]any{"name": "other"}, "eu-central-1", nil, "",
			`--parameters sets name to "other" but the NAME argument says "t1": give it once, or the same in both`},
		{"region disagrees", map[string]any{"region": "us-east-1"}, "eu-central-1", nil, "",
			`--parameters sets region to "us-east-1" but --region says "eu-central-1": give it once, or the same in both`},
		{"region not a string", map[string]any{"region": json.Number("5")}, "eu-central-1", nil, "",
			`--parameters sets region to 5 but --region says "eu-central-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, region, err := Create(tc.params, "t1", tc.region)
			if !wantError(t, err, tc.wantErr) {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parameters (-want +got):\n%s", diff)
			}
			if region != tc.wantRegion {
				t.Errorf("region %q, want %q", region, tc.wantRegion)
			}
		})
	}
}

// wantError checks err against want, the start of the error expected (empty: none),
// and reports whether the case goes on to check the result.
func wantError(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error = %v, want one starting with %q", err, want)
	}
	return false
}
