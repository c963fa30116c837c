// Package wwwauth reads why a server refused a request from its WWW-Authenticate
// header (RFC 6750 section 3: error and error_description parameters). Both the
// Provisioning Service and KEB say why only there, with an empty body.
package wwwauth

import "strings"

// Reason takes error_description, or else error, from a
// WWW-Authenticate header such as
// `Bearer realm="x", error="invalid_token", error_description="Access token expired"`.
func Reason(h string) string {
	if d := authParam(h, "error_description"); d != "" {
		return d
	}
	return authParam(h, "error")
}

// authParam returns the value of name="value" (or name=token) in an auth header.
func authParam(h, name string) string {
	for i := 0; i < len(h); {
		j := strings.Index(h[i:], name+"=")
		if j < 0 {
			return ""
		}
		j += i
		// name must start a parameter, not end a longer one (x_error=).
		if j > 0 && !strings.ContainsRune(" ,\t", rune(h[j-1])) {
			i = j + len(name)
			continue
		}
		v := h[j+len(name)+1:]
		if strings.HasPrefix(v, `"`) {
			var b strings.Builder
			for k := 1; k < len(v); k++ {
				switch v[k] {
				case '\\':
					if k+1 < len(v) {
						k++
						b.WriteByte(v[k])
					}
				case '"':
					return b.String()
				default:
					b.WriteByte(v[k])
				}
			}
			return b.String()
		}
		if k := strings.IndexAny(v, ", "); k >= 0 {
			v = v[:k]
		}
		return v
	}
	return ""
}
