package credential

import (
	"fmt"
	"io"
	"time"
)

// The ExecCredential versions client-go speaks; v1 is the default when kubectl does not
// say (KUBERNETES_EXEC_INFO unset, as when a user runs the plugin by hand).
const (
	apiV1      = "client.authentication.k8s.io/v1"
	apiV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// ExecInfo is what kubectl tells the plugin in KUBERNETES_EXEC_INFO.
type ExecInfo struct {
	// APIVersion is the ExecCredential version to answer in.
	APIVersion string
	// Server and CAData are the cluster's when provideClusterInfo is on; else empty.
	Server string
	CAData []byte
	// TLSServerName and InsecureSkipTLSVerify are how kubectl will check the cluster's
	// certificate; ProxyURL the proxy it goes through (see sameCluster).
	TLSServerName         string
	InsecureSkipTLSVerify bool
	ProxyURL              string
	// NoCluster is set when kubectl ran the plugin (KUBERNETES_EXEC_INFO is set) without
	// saying which cluster it calls: its exec stanza lacks provideClusterInfo: true.
	// Such a kubectl gets no token, as it may be pointed at any server; only a person
	// running the plugin by hand (the variable unset) goes without the check.
	NoCluster bool
}

// ParseExecInfo reads KUBERNETES_EXEC_INFO; empty means v1 and no cluster info (run by
// hand), while a set variable without spec.cluster sets NoCluster.
func ParseExecInfo(env string) (ExecInfo, error) {
	if env == "" {
		return ExecInfo{APIVersion: apiV1}, nil
	}
	apiVersion, cluster, err := decodeExecInfo(env)
	if err != nil {
		return ExecInfo{}, fmt.Errorf("KUBERNETES_EXEC_INFO is not an ExecCredential: %w", err)
	}
	info := ExecInfo{APIVersion: apiVersion}
	switch apiVersion {
	case apiV1, apiV1beta1:
	case "":
		info.APIVersion = apiV1
	default:
		return ExecInfo{}, fmt.Errorf("KUBERNETES_EXEC_INFO asks for %s; this plugin speaks %s and %s", apiVersion, apiV1, apiV1beta1)
	}
	if cluster == nil || cluster.Server == "" {
		info.NoCluster = true
	} else {
		info.Server, info.CAData = cluster.Server, cluster.CAData
		info.TLSServerName, info.InsecureSkipTLSVerify, info.ProxyURL = cluster.TLSServerName, cluster.InsecureSkipTLSVerify, cluster.ProxyURL
	}
	return info, nil
}

// writeExecCredential prints the token with the time client-go must ask again.
func writeExecCredential(w io.Writer, apiVersion, token string, expiry time.Time) error {
	_, err := w.Write(append(appendExecCredential(make([]byte, 0, 192+len(token)), apiVersion, token, expiry), '\n'))
	return err
}
