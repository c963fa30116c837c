package auth

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
)

// JWTExpiry returns the exp claim of a JWT, decoding its payload WITHOUT checking the
// signature. Use it only to schedule a refresh: never to decide whether to trust
// the token.
func JWTExpiry(token string) (time.Time, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("not a JWT: want three dot-separated parts")
	}
	// base64url without padding (RFC 7515); tolerate padding anyway.
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, errors.New("not a JWT: the payload is not base64url")
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return time.Time{}, errors.New("not a JWT: the payload is not a JSON object")
	}
	if claims.Exp == nil {
		return time.Time{}, errors.New("the JWT has no exp claim")
	}
	f, err := claims.Exp.Float64()
	if err != nil || f <= 0 || math.IsInf(f, 0) || f > 1e11 {
		return time.Time{}, errors.New("the JWT's exp claim is not a time")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// KubeconfigToken returns the bearer token of a kubeconfig's user, or "" when it has
// none. It reads the text line by line instead of parsing YAML (no YAML library is
// linked here): the first line whose content starts with `token:` (block style) or
// `"token":` (a JSON kubeconfig) holds it, quoted or not. A kubeconfig made by KEB
// has exactly one user, whose only credential is such a token; other keys that end in
// "token" (id-token, refresh-token) do not match.
func KubeconfigToken(kubeconfig string) string {
	sc := bufio.NewScanner(strings.NewReader(kubeconfig))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20) // service-account JWTs are ~1 KiB, CA data longer
	for sc.Scan() {
		line := bytes.TrimLeft(sc.Bytes(), " \t-")
		var rest []byte
		switch {
		case bytes.HasPrefix(line, []byte("token:")):
			rest = line[len("token:"):]
		case bytes.HasPrefix(line, []byte(`"token":`)):
			rest = line[len(`"token":`):]
		default:
			continue
		}
		v := strings.TrimSpace(string(rest))
		v = strings.TrimSuffix(v, ",") // JSON: "token": "x",
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		return v
	}
	return ""
}

// KubeconfigExpiry is JWTExpiry of KubeconfigToken(kubeconfig): when the binding's
// token stops working, for a service that did not say (KEB's GET of a binding).
func KubeconfigExpiry(kubeconfig string) (time.Time, error) {
	tok := KubeconfigToken(kubeconfig)
	if tok == "" {
		return time.Time{}, errors.New("the kubeconfig has no user token")
	}
	return JWTExpiry(tok)
}
