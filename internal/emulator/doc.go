// Package emulator is kyma-emulator: a local stand-in for the three SAP BTP APIs that
// kubectl-kyma talks to, backed by a real Kubernetes API server.
//
// It serves, on loopback only and over TLS with a CA it keeps in its state folder:
//
//   - a UAA token endpoint, POST /oauth/token (OAuth 2.0 client credentials,
//     https://www.rfc-editor.org/rfc/rfc6749#section-4.4), answering as SAP's UAA does;
//   - the SAP Cloud Management service's Provisioning Service API under
//     /provisioning/v1 (environments and environment bindings; SAP's published OpenAPI
//     spec, https://api.sap.com/api/APIProvisioningService/overview);
//   - the Kyma Environment Broker's Open Service Broker API 2.14 under /oauth/v2 and
//     /oauth/{region}/v2 (https://github.com/openservicebrokerapi/servicebroker/blob/v2.14/spec.md),
//     with the status codes and bodies of KEB's own code
//     (https://github.com/kyma-project/kyma-environment-broker, internal/broker/bind_*.go
//     behind github.com/pivotal-cf/brokerapi/v12). KEB's GET /info/runtimes is not served:
//     KEB removed it in February 2026, and no client may rely on it.
//
// Both APIs share one store: an environment made through either is the same service
// instance (the CIS environment id is the KEB instance id), and so are its bindings.
// Every binding is real: like KEB, the emulator creates, in namespace kyma-system, a
// ServiceAccount, ClusterRole and ClusterRoleBinding named kyma-binding-{id}, and hands out
// a TokenRequest token in a kubeconfig; deleting the binding deletes them.
//
// A binding as both APIs return it (KEB answers 201, CIS 202 with the id in Location):
//
//	{
//	  "credentials": {"kubeconfig": "\n---\napiVersion: v1\nkind: Config\n..."},
//	  "metadata": {"expires_at": "2026-11-23T09:20:37.0Z"}
//	}
//
// An error of the Provisioning Service API, and one of the broker:
//
//	{"error": {"code": 41000, "message": "expiration_seconds cannot be less than 600",
//	           "target": "/provisioning/v1/environments/ID/bindings", "correlationID": "..."}}
//	{"description": "expiration_seconds cannot be less than 600"}
//
// Two admin endpoints answer loopback clients only: GET /emulator/v1/stats counts what
// the emulator did, and /emulator/v1/faults makes the next requests of a route fail as
// real services do (an error status with Retry-After, a delay, a dropped connection, a
// truncated or non-JSON body) for tests of clients under faults; see Fault.
//
// The state folder keeps the CA, the generated client credentials, the token signing key
// and every environment and binding, so a restarted emulator carries on where it stopped:
// tokens it issued stay valid and kubeconfigs it handed out keep working.
package emulator
