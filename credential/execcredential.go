package credential

import (
	"encoding/json"
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

// execCredential is the part of client-go's ExecCredential this plugin reads and
// writes, written out by hand: importing client-go's types would link apimachinery and
// its init work into every kubectl call.
type execCredential struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		Interactive bool `json:"interactive"`
		// Cluster is set when the exec stanza has provideClusterInfo: true.
		Cluster *struct {
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
	var in execCredential
	if err := json.Unmarshal([]byte(env), &in); err != nil {
		return ExecInfo{}, fmt.Errorf("KUBERNETES_EXEC_INFO is not an ExecCredential: %w", err)
	}
	info := ExecInfo{APIVersion: in.APIVersion}
	switch in.APIVersion {
	case apiV1, apiV1beta1:
	case "":
		info.APIVersion = apiV1
	default:
		return ExecInfo{}, fmt.Errorf("KUBERNETES_EXEC_INFO asks for %s; this plugin speaks %s and %s", in.APIVersion, apiV1, apiV1beta1)
	}
	if in.Spec.Cluster == nil || in.Spec.Cluster.Server == "" {
		info.NoCluster = true
	} else {
		c := in.Spec.Cluster
		info.Server, info.CAData = c.Server, c.CertificateAuthorityData
		info.TLSServerName, info.InsecureSkipTLSVerify, info.ProxyURL = c.TLSServerName, c.InsecureSkipTLSVerify, c.ProxyURL
	}
	return info, nil
}

// writeExecCredential prints the token with the time client-go must ask again.
func writeExecCredential(w io.Writer, apiVersion, token string, expiry time.Time) error {
	out := execCredential{Kind: "ExecCredential", APIVersion: apiVersion}
	out.Status = &execStatus{ExpirationTimestamp: expiry.UTC().Format(time.RFC3339), Token: token}
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
