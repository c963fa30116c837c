package binding

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
)

// JWTExpiry returns the exp claim of a JWT (a binding's service-account token),
// decoding its payload WITHOUT checking the signature. Use it only to schedule a
// refresh: never to decide whether to trust the token.
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
