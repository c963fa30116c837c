package credential

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// The flags of `kubectl kyma credential` that a kubeconfig's exec stanza passes. The
// launcher parses them, the full CLI's command declares them under these names, and
// `kubectl kyma kubeconfig` writes them (Args.Render).
const (
	FlagProfile     = "profile"
	FlagEnvironment = "environment"
	FlagExpiration  = "expiration"
	FlagMargin      = "refresh-margin"
	FlagAhead       = "refresh-ahead"
	// The OIDC flags: a CI job's own ID token instead of a binding (see OIDC).
	FlagOIDC      = "oidc"
	FlagAudience  = "audience"
	FlagTokenEnv  = "token-env"
	FlagTokenFile = "token-file"
)

// Args are the arguments of `kubectl kyma credential` after the word credential, as a
// kubeconfig's exec stanza passes them:
//
//	credential --profile dev --environment 6f0c... --expiration 3600 --refresh-margin 2m0s --refresh-ahead 0.9
//
// The zero value of a field means the flag is absent. ParseArgs and Render are each
// other's inverse: ParseArgs(a.Render()) is a, and Render writes what ParseArgs read
// in one canonical form.
type Args struct {
	// Profile names the profile; empty leaves it to KUBECTL_KYMA_PROFILE, else the
	// current one.
	Profile string
	// Environment is the environment (instance) id; the command requires it.
	Environment string
	// Expiration is the lifetime of the bindings a miss makes; zero is the service's
	// default. Its bounds are the service's and checked by the full CLI.
	Expiration time.Duration
	// Margin overrides the refresh margin (see Margin).
	Margin time.Duration
	// Ahead is the refresh-ahead share (see ValidAhead).
	Ahead float64
	// OIDC, when its Source is set, asks for the CI job's own ID token: no profile,
	// no environment, no binding.
	OIDC OIDC
}

// ParseArgs reads the arguments of `kubectl kyma credential` with the standard
// library's flag package (the launcher links no other). It refuses what it does not
// know, a positional argument and a malformed value; the checks of meaning (a required
// environment, the bounds of each value) are Validate's and the full CLI's.
func ParseArgs(args []string) (Args, error) {
	var a Args
	fs := flag.NewFlagSet("credential", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.Profile, FlagProfile, "", "")
	fs.StringVar(&a.Environment, FlagEnvironment, "", "")
	fs.Func(FlagExpiration, "", func(s string) (err error) {
		a.Expiration, err = ParseExpiration(s)
		return err
	})
	fs.DurationVar(&a.Margin, FlagMargin, 0, "")
	fs.Float64Var(&a.Ahead, FlagAhead, 0, "")
	fs.StringVar(&a.OIDC.Source, FlagOIDC, "", "")
	fs.StringVar(&a.OIDC.Audience, FlagAudience, "", "")
	fs.StringVar(&a.OIDC.TokenEnv, FlagTokenEnv, "", "")
	fs.StringVar(&a.OIDC.TokenFile, FlagTokenFile, "", "")
	if err := fs.Parse(args); err != nil {
		return Args{}, err
	}
	if fs.NArg() > 0 {
		return Args{}, fmt.Errorf("credential takes no arguments, got %q", fs.Arg(0))
	}
	return a, nil
}

// ParseExpiration reads a binding lifetime given as whole seconds (600) or a duration
// (10m), the two forms --expiration takes. It checks the form, not the service's
// bounds.
func ParseExpiration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, fmt.Errorf("%q seconds is out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("%q is neither seconds nor a duration like 1h", s)
}

// FormatExpiration writes a lifetime as ParseExpiration reads it back: whole seconds
// when it is a whole number of seconds (as the service counts), else a duration.
func FormatExpiration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10)
	}
	return d.String()
}

// Render writes a as arguments for the exec stanza (after the word credential), each
// flag and its value as two words, absent flags left out, in a fixed order.
func (a Args) Render() []string {
	out := make([]string, 0, 10)
	if a.Profile != "" {
		out = append(out, "--"+FlagProfile, a.Profile)
	}
	if a.Environment != "" {
		out = append(out, "--"+FlagEnvironment, a.Environment)
	}
	if a.Expiration != 0 {
		out = append(out, "--"+FlagExpiration, FormatExpiration(a.Expiration))
	}
	if a.Margin != 0 {
		out = append(out, "--"+FlagMargin, a.Margin.String())
	}
	if a.Ahead != 0 {
		out = append(out, "--"+FlagAhead, strconv.FormatFloat(a.Ahead, 'f', -1, 64))
	}
	return append(out, a.OIDC.render()...)
}

// Validate checks the meaning of a, as the full CLI's command does before it makes a
// binding.
func (a Args) Validate() error {
	if a.OIDC.Source != "" {
		return a.validateOIDC()
	}
	if a.Environment == "" {
		return errors.New("--" + FlagEnvironment + " is required")
	}
	if err := ValidAhead(a.Ahead); err != nil {
		return err
	}
	if a.Margin < 0 {
		return errors.New("--" + FlagMargin + " must not be negative")
	}
	return nil
}

// Input is the run of the plugin that a asks for, with the KUBERNETES_EXEC_INFO kubectl
// passed (execInfo). When a names no profile, the caller sets Key.Profile to the one it
// resolved; it adds who calls, the clock, stderr and the background refresh.
func (a Args) Input(execInfo string) (Input, error) {
	info, err := ParseExecInfo(execInfo)
	if err != nil {
		return Input{}, err
	}
	return Input{
		Key:      Key{Profile: a.Profile, Environment: a.Environment},
		Margin:   a.Margin,
		Ahead:    a.Ahead,
		ExecInfo: info,
	}, nil
}
