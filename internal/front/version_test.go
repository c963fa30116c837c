package front

import (
	"os"
	"strings"
	"testing"

	"github.com/kubectl-kyma/kubectl-kyma/internal/version"
)

func TestCheckHandover(t *testing.T) {
	t.Setenv(versionEnv, version.Version)
	if err := CheckHandover(); err != nil {
		t.Errorf("same release: %v", err)
	}
	t.Setenv(versionEnv, "v9.9.9")
	if err := CheckHandover(); err == nil || !strings.Contains(err.Error(), "kubectl-kyma v9.9.9 handed this call to kyma-cli "+version.Version+", from another release: reinstall the plugin") {
		t.Errorf("another release: %v", err)
	}
	if _, ok := os.LookupEnv(versionEnv); ok {
		t.Error("the variable is left for the commands kyma-cli runs")
	}
	if err := CheckHandover(); err != nil {
		t.Errorf("run directly: %v", err)
	}
}
