package credential

import (
	"strings"
	"testing"
)

// Plain names keep their file (existing caches stay valid); others are escaped byte by
// byte, and no two names share a file.
func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"":                "%",
		"_":               "_",
		"dev":             "dev",
		"Env-1_a.b":       "Env-1_a.b",
		".hidden":         "%2ehidden",
		"..":              "%2e.",
		"a/b":             "a%2fb",
		"100%":            "100%25",
		"\u00e9":          "%c3%a9",
		"\u01e9":          "%c7%a9",
		"\u001e9":         "%1e9",
		"\xff":            "%ff",
		"C1A2B3C4-D5E6-F": "C1A2B3C4-D5E6-F",
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
	if safeName("\u01e9") == safeName("\u001e9") {
		t.Error("U+01E9 and U+001E 9 share a file")
	}
}

// FuzzSafeName: two different names never map to one file, and no name leaves its folder.
func FuzzSafeName(f *testing.F) {
	f.Add("\u01e9", "\u001e9")
	f.Add(".a", "%2ea")
	f.Add("a.b", "a%2eb")
	f.Add("", "_")
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, sb := safeName(a), safeName(b)
		if a != b && sa == sb {
			t.Fatalf("%q and %q both map to %q", a, b, sa)
		}
		if strings.ContainsAny(sa, `/\`) || sa == "." || sa == ".." || strings.HasPrefix(sa, ".") {
			t.Fatalf("%q maps to %q", a, sa)
		}
	})
}
