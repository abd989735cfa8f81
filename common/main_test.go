package common

import (
	"testing"

	"github.com/rococo-go/rococo/common/version"
)

func TestInfo_comes_from_version(t *testing.T) {
	info := Info()
	if info.Name != version.Name || info.Version != version.Version || info.Commit != version.Commit {
		t.Errorf("Info() = %+v, want version's Name %q Version %q Commit %q", info, version.Name, version.Version, version.Commit)
	}
	if version.Version != "dev" || version.Commit != "" {
		t.Errorf("unstamped test binary has Version %q Commit %q, want dev and empty", version.Version, version.Commit)
	}
	for name, f := range info.Transports {
		if f == nil {
			t.Errorf("Transports[%q] is nil", name)
		}
		if name != "RabbitMqConnection" && name != "SqsConnection" {
			t.Errorf("Transports has %q, not a MESSAGING_TYPE", name)
		}
	}
}
