package plugin

import (
	"errors"

	"github.com/kubectl-kyma/kubectl-kyma/internal/binding"
	"github.com/kubectl-kyma/kubectl-kyma/internal/config"
)

// brokerBindings is the binding service of a KEB profile.
func (f *Factory) brokerBindings(p *config.Profile) (binding.Service, error) {
	return nil, errors.New("broker profiles are not wired yet")
}
