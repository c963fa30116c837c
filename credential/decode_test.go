package credential

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// execCredential is client-go's ExecCredential as far as this plugin reads and writes
// it, decoded with encoding/json: the reference the tests hold decode.go to, since
// client-go reads the output with encoding/json and kubectl writes
// KUBERNETES_EXEC_INFO with it.
type execCredential struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		Interactive bool `json:"interactive"`
		Cluster     *struct {
			Server                   string `json:"server"`
			TLSServerName            string `json:"tls-server-name,omitempty"`
			InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify,omitempty"`
			CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
			ProxyURL                 string `json:"proxy-url,omitempty"`
		} `json:"cluster,omitempty"`
	} `json:"spec"`
	Status *execStatus `json:"status,omitempty"`
}

type execStatus struct {
	ExpirationTimestamp string `json:"expirationTimestamp"`
	Token               string `json:"token"`
}

// gen makes values that are hard to round-trip: escapes, HTML characters, non-ASCII,
// invalid UTF-8, and times in other zones with nanoseconds.
type gen struct{ r *rand.Rand }

func (g gen) str() string {
	parts := []string{"", "a", "eyJhbGciOi.JSUzI1NiJ9-_", `"`, `\`, "<>&", "\x00\x1f\n\t", "é", "日本", "\xff\xfe", "\u2028", "😀", " ", "/", "%41"}
	var b strings.Builder
	for range g.r.IntN(5) {
		b.WriteString(parts[g.r.IntN(len(parts))])
	}
	return b.String()
}

func (g gen) time() time.Time {
	if g.r.IntN(8) == 0 {
		return time.Time{}
	}
	zones := []*time.Location{time.UTC, time.FixedZone("", -7*3600-30*60), time.FixedZone("", 14*3600)}
	return time.Unix(g.r.Int64N(4e9), g.r.Int64N(1e9)*int64(g.r.IntN(2))).In(zones[g.r.IntN(len(zones))])
}

func (g gen) bytes() []byte {
	if g.r.IntN(4) == 0 {
		return nil
	}
	b := make([]byte, g.r.IntN(40))
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func (g gen) entry() Entry {
	e := Entry{Environment: g.str(), BindingID: g.str(), Token: g.str(), IssuedAt: g.time(), ExpiresAt: g.time(),
		Server: g.str(), CAData: g.bytes(), TLSServerName: g.str(), ClockNote: g.str(), ReplacedRefused: g.r.IntN(2) == 0}
	for range g.r.IntN(4) {
		e.Superseded = append(e.Superseded, Superseded{BindingID: g.str(), After: g.time(), Expires: g.time()})
	}
	return e
}

// seen notes which exported fields of v (and of the structs in its slices) were ever
// non-zero, so that a test can insist its generator covers every field: a field added
// to Entry without a reader in decode.go then fails the round trip.
func seen(v reflect.Value, prefix string, got map[string]bool) {
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		if !f.IsZero() {
			got[name] = true
		}
		if f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct {
			for j := range f.Len() {
				seen(f.Index(j), name+".", got)
			}
		}
	}
}

func fieldNames(t reflect.Type, prefix string, out *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		*out = append(*out, prefix+f.Name)
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct && f.Type.Elem() != reflect.TypeFor[time.Time]() {
			fieldNames(f.Type.Elem(), prefix+f.Name+".", out)
		}
	}
}

func requireCovered(t *testing.T, typ reflect.Type, got map[string]bool) {
	t.Helper()
	var all []string
	fieldNames(typ, "", &all)
	for _, name := range all {
		if !got[name] {
			t.Errorf("the generator never set %s.%s: give it a value (and decode.go a reader)", typ.Name(), name)
		}
	}
}

// TestDecodeEntryReadsWhatStoreWrites: every entry Store writes (encoding/json) reads
// back as encoding/json reads it, every field, over generated entries.
func TestDecodeEntryReadsWhatStoreWrites(t *testing.T) {
	g, got := gen{rand.New(rand.NewPCG(1, 2))}, map[string]bool{}
	for i := range 3000 {
		e := g.entry()
		seen(reflect.ValueOf(e), "", got)
		data, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		var want Entry
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		have, err := decodeEntry(data)
		if err != nil {
			t.Fatalf("case %d: decodeEntry(%s): %v", i, data, err)
		}
		if !reflect.DeepEqual(have, want) {
			t.Fatalf("case %d: decodeEntry(%s)\n = %#v\nwant %#v", i, data, have, want)
		}
	}
	requireCovered(t, reflect.TypeFor[Entry](), got)
}

func TestDecodeOIDCEntryReadsWhatStoreWrites(t *testing.T) {
	g, got := gen{rand.New(rand.NewPCG(3, 4))}, map[string]bool{}
	for i := range 2000 {
		e := oidcEntry{Source: g.str(), Audience: g.str(), Server: g.str(), RequestURL: g.str(), Token: g.str(), FetchedAt: g.time(), Until: g.time()}
		seen(reflect.ValueOf(e), "", got)
		data, _ := json.Marshal(&e)
		var want oidcEntry
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		have, err := decodeOIDCEntry(data)
		if err != nil || !reflect.DeepEqual(have, want) {
			t.Fatalf("case %d: decodeOIDCEntry(%s) = %#v, %v; want %#v", i, data, have, err, want)
		}
	}
	requireCovered(t, reflect.TypeFor[oidcEntry](), got)
}

// readExecInfo is the part of KUBERNETES_EXEC_INFO ParseExecInfo reads, as
// encoding/json reads it: members it does not read (kind, interactive) are not
// checked by either.
type readExecInfo struct {
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		Cluster *struct {
			Server                   string `json:"server"`
			TLSServerName            string `json:"tls-server-name,omitempty"`
			InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify,omitempty"`
			CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
			ProxyURL                 string `json:"proxy-url,omitempty"`
		} `json:"cluster,omitempty"`
	} `json:"spec"`
}

// referenceExecInfo is ParseExecInfo done with encoding/json, as it was before
// decode.go: the behaviour the lean reader must keep.
func referenceExecInfo(env string) (ExecInfo, error) {
	var in readExecInfo
	if err := json.Unmarshal([]byte(env), &in); err != nil {
		return ExecInfo{}, err
	}
	info := ExecInfo{APIVersion: in.APIVersion}
	switch in.APIVersion {
	case apiV1, apiV1beta1:
	case "":
		info.APIVersion = apiV1
	default:
		return ExecInfo{}, fmt.Errorf("unknown version")
	}
	if c := in.Spec.Cluster; c == nil || c.Server == "" {
		info.NoCluster = true
	} else {
		info.Server, info.CAData, info.TLSServerName, info.InsecureSkipTLSVerify, info.ProxyURL = c.Server, c.CertificateAuthorityData, c.TLSServerName, c.InsecureSkipTLSVerify, c.ProxyURL
	}
	return info, nil
}

// TestParseExecInfoReadsWhatKubectlWrites: over generated KUBERNETES_EXEC_INFO as
// client-go writes it (encoding/json), ParseExecInfo agrees with encoding/json.
func TestParseExecInfoReadsWhatKubectlWrites(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(5, 6))}
	versions := []string{apiV1, apiV1beta1, "", "client.authentication.k8s.io/v1alpha1"}
	for i := range 3000 {
		var in execCredential
		in.Kind, in.APIVersion, in.Spec.Interactive = "ExecCredential", versions[g.r.IntN(len(versions))], g.r.IntN(2) == 0
		if g.r.IntN(4) > 0 {
			in.Spec.Cluster = &struct {
				Server                   string `json:"server"`
				TLSServerName            string `json:"tls-server-name,omitempty"`
				InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify,omitempty"`
				CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
				ProxyURL                 string `json:"proxy-url,omitempty"`
			}{g.str(), g.str(), g.r.IntN(2) == 0, g.bytes(), g.str()}
		}
		data, _ := json.Marshal(&in)
		want, werr := referenceExecInfo(string(data))
		have, err := ParseExecInfo(string(data))
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(have, want) {
			t.Fatalf("case %d: ParseExecInfo(%s) = %#v, %v; encoding/json reads %#v, %v", i, data, have, err, want, werr)
		}
	}
}

// TestDecodeRefusesWhatEncodingJSONRefuses: a member of another kind is an error, as
// encoding/json makes it one, not a zero value that would read as a miss or as no
// cluster.
func TestDecodeRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for _, env := range []string{
		`[]`, `"x"`, `{`, `{"apiVersion":1}`, `{"spec":"x"}`, `{"spec":[]}`,
		`{"spec":{"cluster":"x"}}`, `{"spec":{"cluster":{"server":1}}}`,
		`{"spec":{"cluster":{"server":"https://a","certificate-authority-data":"!!"}}}`,
		`{"spec":{"cluster":{"server":"https://a","insecure-skip-tls-verify":"true"}}}`,
		`{"apiVersion":"client.authentication.k8s.io/v1"} x`,
	} {
		_, werr := referenceExecInfo(env)
		if werr == nil {
			t.Fatalf("encoding/json accepts %q: not a case for this test", env)
		}
		if _, err := ParseExecInfo(env); err == nil {
			t.Errorf("ParseExecInfo(%q) accepted what encoding/json refuses (%v)", env, werr)
		}
	}
	for _, data := range []string{
		`{"token":1}`, `{"expiresAt":"tomorrow"}`, `{"expiresAt":1}`, `{"certificateAuthorityData":"!"}`,
		`{"replacedRefused":"yes"}`, `{"superseded":{}}`, `{"superseded":[1]}`, `{"superseded":[{"after":"x"}]}`, `[]`,
	} {
		var e Entry
		if json.Unmarshal([]byte(data), &e) == nil {
			t.Fatalf("encoding/json accepts %q: not a case for this test", data)
		}
		if _, err := decodeEntry([]byte(data)); err == nil {
			t.Errorf("decodeEntry(%q) accepted what encoding/json refuses", data)
		}
	}
}

// TestAppendExecCredentialIsEncodingJSON: the output is byte for byte what
// encoding/json writes for the same ExecCredential, whatever the token holds.
func TestAppendExecCredentialIsEncodingJSON(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(7, 8))}
	for i := range 3000 {
		version, token, expiry := g.str(), g.str(), g.time()
		want, _ := json.Marshal(execCredential{Kind: "ExecCredential", APIVersion: version,
			Status: &execStatus{ExpirationTimestamp: expiry.UTC().Format(time.RFC3339), Token: token}})
		if have := appendExecCredential(nil, version, token, expiry); string(have) != string(want) {
			t.Fatalf("case %d:\n have %s\n want %s", i, have, want)
		}
	}
}

// FuzzDecodeEntry: an entry of any field values reads back as encoding/json reads it.
func FuzzDecodeEntry(f *testing.F) {
	f.Add("b", "tok\x00<\xff", int64(1796063791), int64(5), []byte{1, 2}, true)
	f.Fuzz(func(t *testing.T, id, token string, sec, nsec int64, ca []byte, refused bool) {
		at := time.Unix(sec%4e9, nsec%1e9).UTC()
		e := Entry{BindingID: id, Token: token, IssuedAt: at, ExpiresAt: at.Add(time.Hour), CAData: ca, ReplacedRefused: refused,
			Superseded: []Superseded{{BindingID: token, After: at}}}
		data, err := json.Marshal(&e)
		if err != nil {
			t.Skip() // a time encoding/json cannot write is not an entry
		}
		var want Entry
		_ = json.Unmarshal(data, &want)
		if have, err := decodeEntry(data); err != nil || !reflect.DeepEqual(have, want) {
			t.Fatalf("decodeEntry(%s) = %#v, %v; want %#v", data, have, err, want)
		}
	})
}

// TestDecodeReadsNamesAsEncodingJSONDoes: a name in another case or escaped counts as
// encoding/json counts it, and a member given twice (which encoding/json reads as the
// last, merging two objects) is refused, so a document cannot mean one cluster to the
// helper and another to encoding/json.
func TestDecodeReadsNamesAsEncodingJSONDoes(t *testing.T) {
	for _, env := range []string{
		`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"SERVER":"https://b"}}}`,
		`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"\u0073erver":"https://b"}}}`,
		`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://a","config":{"server":"https://evil"}}}}`,
		`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","kind":"x","spec":{"cluster":{"server":"https://a"}}}`, // not read
	} {
		want, werr := referenceExecInfo(env)
		have, err := ParseExecInfo(env)
		if werr != nil || err != nil || !reflect.DeepEqual(have, want) {
			t.Errorf("ParseExecInfo(%s) = %+v, %v; encoding/json reads %+v, %v", env, have, err, want, werr)
		}
	}
	for _, env := range []string{
		`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://a","insecure-skip-tls-verify":false,"insecure-skip-tls-verify":true}}}`,
		`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://a","Server":"https://b"}}}`,
		`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://a"},"cluster":null}}`,
		`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://a","insecure-skip-tls-verify":true},"cluster":{"server":"https://a"}}}`,
		`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://a"}},"spec":{}}`,
	} {
		if info, err := ParseExecInfo(env); err == nil || !strings.Contains(err.Error(), "times") {
			t.Errorf("ParseExecInfo(%s) = %+v, %v; want a refusal of the member given twice", env, info, err)
		}
	}
	if _, err := decodeEntry([]byte(`{"bindingId":"a","token":"t","token":"u"}`)); err == nil {
		t.Error("decodeEntry read a token given twice")
	}
}

// TestDecodeRefusesDeepNesting: gjson recurses as deep as a document nests; nesting
// beyond encoding/json's limit is refused before it is parsed, quickly, and brackets
// inside strings do not count.
func TestDecodeRefusesDeepNesting(t *testing.T) {
	deep := `{"spec":` + strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20) + `}`
	if _, err := ParseExecInfo(deep); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("ParseExecInfo of a megabyte of nesting: %v, want a refusal", err)
	}
	if _, err := decodeEntry([]byte(deep)); err == nil {
		t.Error("decodeEntry accepted a megabyte of nesting")
	}
	inString := `{"bindingId":"` + strings.Repeat(`[{\"`, maxDepth) + `","token":"t"}`
	if e, err := decodeEntry([]byte(inString)); err != nil || e.Token != "t" {
		t.Errorf("brackets in a string counted as nesting: %v", err)
	}
	if !tooDeep(strings.Repeat("[", maxDepth+1)) || tooDeep(strings.Repeat("[", maxDepth)) {
		t.Errorf("tooDeep does not stop at %d", maxDepth)
	}
}

func TestDecodeOIDCEntryRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for _, data := range []string{`[]`, `{"token":1}`, `{"fetchedAt":"x"}`, `{"localUntil":5}`, `{"source":{}}`, `{`} {
		var e oidcEntry
		if json.Unmarshal([]byte(data), &e) == nil {
			t.Fatalf("encoding/json accepts %q: not a case for this test", data)
		}
		if _, err := decodeOIDCEntry([]byte(data)); err == nil {
			t.Errorf("decodeOIDCEntry(%q) accepted what encoding/json refuses", data)
		}
	}
}

// FuzzParseExecInfoAgreesWithEncodingJSON: on any KUBERNETES_EXEC_INFO in valid UTF-8
// (encoding/json replaces invalid UTF-8 in strings, the helper keeps it; neither makes
// a usable server URL), the helper reads what encoding/json reads, or both refuse. One
// difference is allowed: the helper refuses a document with a member given twice,
// which encoding/json reads.
func FuzzParseExecInfoAgreesWithEncodingJSON(f *testing.F) {
	f.Add(`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://a","certificate-authority-data":"Zm9v"}}}`)
	f.Add(`{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{"server":"https://a","Server":"https://b","insecure-skip-tls-verify":true}}}`)
	f.Add(`{"spec":{"cluster":null,"cluster":{"server":"x","tls-server-name":"\u00e9"}}}`)
	f.Add(`{"kind":1,"spec":{"interactive":"x","cluster":{"server":"https://a"}},"status":[]}`)
	f.Add(`{"spec":{"cluster":{"server":"https://a","insecure-skip-tls-verify":true},"cluster":{"server":"https://a"}}}`)
	f.Fuzz(func(t *testing.T, env string) {
		if !utf8.ValidString(env) {
			t.Skip()
		}
		want, werr := referenceExecInfo(env)
		have, err := ParseExecInfo(env)
		if werr != nil {
			if err == nil && env != "" {
				t.Fatalf("ParseExecInfo(%q) = %+v; encoding/json refuses it: %v", env, have, werr)
			}
			return
		}
		if err != nil && strings.Contains(err.Error(), "times") && hasDuplicateNames(env) {
			return
		}
		if err != nil || !reflect.DeepEqual(have, want) {
			t.Fatalf("ParseExecInfo(%q) = %+v, %v; encoding/json reads %+v", env, have, err, want)
		}
	})
}

// hasDuplicateNames reports whether an object in the JSON document s has two members
// whose names are equal in any case.
func hasDuplicateNames(s string) bool {
	d := json.NewDecoder(strings.NewReader(s))
	type frame struct {
		object bool
		names  map[string]bool
		key    bool // the next token of an object is a name
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if name, ok := tok.(string); ok {
				if top.names[strings.ToLower(name)] {
					return true
				}
				top.names[strings.ToLower(name)] = true
				top.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, names: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true // a value ended: a name comes next
		}
	}
}
