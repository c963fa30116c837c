package plugin

import (
	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/broker"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
)

// brokerBindings is the binding service of a profile that talks to KEB's OSB API
// directly, at /oauth or /oauth/{region}.
func (f *Factory) brokerBindings(p *config.Profile) (binding.Service, error) {
	c, err := f.brokerClient(p)
	if err != nil {
		return nil, err
	}
	return c.Bindings(broker.BindingConfig{ServiceID: p.ServiceID, PlanID: p.PlanID}), nil
}

// brokerClient is the OSB client of a profile that talks to KEB directly, at /oauth
// or /oauth/{region}.
func (f *Factory) brokerClient(p *config.Profile) (*broker.Client, error) {
	hc, err := f.tokenClient(p)
	if err != nil {
		return nil, err
	}
	url := p.BrokerURL
	if p.Region != "" {
		url += "/" + p.Region
	}
	c := broker.New(url, hc)
	c.Clock = f.Clock
	return c, nil
}
