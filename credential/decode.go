package credential

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// The JSON the cache hit reads (KUBERNETES_EXEC_INFO and the cache entries) and writes
// (the ExecCredential) is handled here without reflection. encoding/json decodes a
// struct by reflecting on its type, and the first decode of each type in a process
// builds that type's field cache. kubectl starts the helper anew for every call, so
// every call paid that cold work: measured on the hit, some 60 fresh memory pages, each
// a page fault (about 15 µs on a virtual machine), half of the hit's own time
// (docs/benchmarks.md, "Start-up cost"). gjson scans the bytes for the members asked
// for and touches a few pages.
//
// doc gives each member encoding/json's meaning for a struct field: absent or null
// leaves the zero value, a value of another kind is an error, and a name matches in
// any case. One thing is stricter: a member given twice is an error, where
// encoding/json takes the last (and merges two objects), because a document that says
// two things about the cluster must not be read one way here and another elsewhere;
// client-go and Store never write one. Files are still written with encoding/json;
// decode_test.go reads back what it writes, field by field.

// doc is a JSON object being read; err is its first error.
type doc struct {
	obj gjson.Result
	err error
}

// maxDepth is encoding/json's limit on nesting. gjson has none and recurses as deep as
// a document nests: a megabyte of '[' took seconds and a stack of a gigabyte.
const maxDepth = 10000

// parseDoc reads s, which must be one JSON object. The members read are substrings
// of s, not copies.
func parseDoc(s string) *doc {
	if tooDeep(s) {
		return &doc{err: fmt.Errorf("it nests deeper than %d", maxDepth)}
	}
	if !gjson.Valid(s) {
		return &doc{err: errors.New("it is not valid JSON")}
	}
	return asDoc(gjson.Parse(s), "the document")
}

// tooDeep reports whether s opens more than maxDepth objects or arrays inside each
// other, brackets in strings aside. It is not a validator: gjson.Valid is.
func tooDeep(s string) bool {
	depth, inString := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++ // the escaped character cannot end the string
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > maxDepth {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

// asDoc reads r as an object; null is an empty one. what names r in the error.
func asDoc(r gjson.Result, what string) *doc {
	if r.Type != gjson.JSON && r.Type != gjson.Null || r.Type == gjson.JSON && !r.IsObject() {
		return &doc{err: errors.New(what + " is not a JSON object")}
	}
	return &doc{obj: r}
}

// get is the member key, gjson's not-found (Type Null) when absent: the member whose
// name is key in any case, as encoding/json fills a field (gjson's Get would match
// only key's case, and take the first of two). Two such members are an error.
func (d *doc) get(key string) gjson.Result {
	var v gjson.Result
	if d.err != nil || d.obj.Type != gjson.JSON {
		return v
	}
	n := 0
	d.obj.ForEach(func(k, val gjson.Result) bool {
		if strings.EqualFold(k.Str, key) {
			v, n = val, n+1
		}
		return true
	})
	if n > 1 {
		d.err = fmt.Errorf("member %q is given %d times", key, n)
		return gjson.Result{}
	}
	return v
}

func (d *doc) fail(key, kind string) {
	if d.err == nil {
		d.err = fmt.Errorf("member %q is not %s", key, kind)
	}
}

func (d *doc) str(key string) string {
	switch r := d.get(key); r.Type {
	case gjson.String:
		return r.Str
	case gjson.Null:
	default:
		d.fail(key, "a string")
	}
	return ""
}

func (d *doc) boolean(key string) bool {
	switch r := d.get(key); r.Type {
	case gjson.True:
		return true
	case gjson.False, gjson.Null:
	default:
		d.fail(key, "true or false")
	}
	return false
}

// bytes reads a []byte as encoding/json writes it: standard base64.
func (d *doc) bytes(key string) []byte {
	r := d.get(key)
	if r.Type == gjson.Null {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(r.Str)
	if r.Type != gjson.String || err != nil {
		d.fail(key, "base64")
		return nil
	}
	return b
}

// time reads a time.Time as encoding/json writes it: RFC 3339.
func (d *doc) time(key string) time.Time {
	r := d.get(key)
	if r.Type == gjson.Null {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, r.Str)
	if r.Type != gjson.String || err != nil {
		d.fail(key, "an RFC 3339 time")
		return time.Time{}
	}
	return t
}

// object reads a member that is an object (null or absent: an empty one).
func (d *doc) object(key string) *doc {
	o := asDoc(d.get(key), `member "`+key+`"`)
	if o.err != nil && d.err == nil {
		d.err = o.err
	}
	return o
}

// decodeEntry reads a cache entry as Store wrote it.
func decodeEntry(data []byte) (Entry, error) {
	d := parseDoc(string(data))
	e := Entry{
		Environment:     d.str("environment"),
		BindingID:       d.str("bindingId"),
		Token:           d.str("token"),
		IssuedAt:        d.time("issuedAt"),
		ExpiresAt:       d.time("expiresAt"),
		Server:          d.str("server"),
		CAData:          d.bytes("certificateAuthorityData"),
		TLSServerName:   d.str("tlsServerName"),
		ClockNote:       d.str("clockNote"),
		ReplacedRefused: d.boolean("replacedRefused"),
	}
	switch r := d.get("superseded"); {
	case r.Type == gjson.Null:
	case !r.IsArray():
		d.fail("superseded", "a list")
	default:
		e.Superseded = []Superseded{}
		for _, item := range r.Array() {
			s := asDoc(item, "an item of superseded")
			e.Superseded = append(e.Superseded, Superseded{BindingID: s.str("bindingId"), After: s.time("after"), Expires: s.time("expires")})
			if s.err != nil && d.err == nil {
				d.err = s.err
			}
		}
	}
	if d.err != nil {
		return Entry{}, fmt.Errorf("read cache entry: %w", d.err)
	}
	return e, nil
}

// decodeOIDCEntry reads an OIDC cache entry as OIDCCache.Store wrote it.
func decodeOIDCEntry(data []byte) (oidcEntry, error) {
	d := parseDoc(string(data))
	e := oidcEntry{
		Source:     d.str("source"),
		Audience:   d.str("audience"),
		Server:     d.str("server"),
		RequestURL: d.str("requestURL"),
		Token:      d.str("token"),
		FetchedAt:  d.time("fetchedAt"),
		Until:      d.time("localUntil"),
	}
	if d.err != nil {
		return oidcEntry{}, fmt.Errorf("read OIDC cache entry: %w", d.err)
	}
	return e, nil
}

// decodeExecInfo reads the members of KUBERNETES_EXEC_INFO the plugin uses.
func decodeExecInfo(env string) (apiVersion string, cluster *ExecInfo, err error) {
	d := parseDoc(env)
	apiVersion = d.str("apiVersion")
	spec := d.object("spec")
	if c := spec.get("cluster"); c.Type != gjson.Null {
		cd := spec.object("cluster")
		cluster = &ExecInfo{
			Server:                cd.str("server"),
			TLSServerName:         cd.str("tls-server-name"),
			InsecureSkipTLSVerify: cd.boolean("insecure-skip-tls-verify"),
			CAData:                cd.bytes("certificate-authority-data"),
			ProxyURL:              cd.str("proxy-url"),
		}
		if cd.err != nil && d.err == nil {
			d.err = cd.err
		}
	}
	if spec.err != nil && d.err == nil {
		d.err = spec.err
	}
	if d.err != nil {
		return "", nil, d.err
	}
	return apiVersion, cluster, nil
}

// appendExecCredential is the ExecCredential client-go reads, with the token and the
// time it must ask again: what encoding/json writes for it, byte for byte.
func appendExecCredential(b []byte, apiVersion, token string, expiry time.Time) []byte {
	b = append(b, `{"kind":"ExecCredential","apiVersion":`...)
	b = appendString(b, apiVersion)
	b = append(b, `,"spec":{"interactive":false},"status":{"expirationTimestamp":`...)
	b = appendString(b, expiry.UTC().Format(time.RFC3339))
	b = append(b, `,"token":`...)
	b = appendString(b, token)
	return append(b, "}}"...)
}

// appendString appends s as a JSON string. A token is printable ASCII that needs no
// escape, which is appended as it is; anything else goes through encoding/json, which
// escapes it (and <, > and &, as it does everywhere).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
