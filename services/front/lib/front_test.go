package lib_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/band/gateway"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/services/front/lib"
)

func TestRegisterWithTheShippedConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    time.Duration
		wantErr string
	}{
		{name: "defaults", want: gateway.DefaultEnrichTimeout},
		{name: "from the environment", env: map[string]string{"GATEWAY_ENRICH_TIMEOUT": "50ms"}, want: 50 * time.Millisecond},
		{name: "a zero deadline", env: map[string]string{"GATEWAY_ENRICH_TIMEOUT": "0s"}, wantErr: "enrich_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := gateway.DefaultSettings()
			s := band.New(band.Settings(&set))
			lib.Register(s, &set, nil)
			setup, err := s.Configure("front", "..", config.EnvMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || !contains(err.Error(), tc.wantErr) {
					t.Fatalf("Configure() = %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Configure() = %v", err)
			}
			if setup.Name != "front" || setup.Handlers != 2 || set.EnrichTimeout != tc.want {
				t.Errorf("setup = %+v, enrich_timeout = %v; want front, 2 handlers, %v", setup, set.EnrichTimeout, tc.want)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
