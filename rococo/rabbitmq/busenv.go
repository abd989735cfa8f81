package rabbitmq

import (
	"log/slog"

	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/config"
)

// OpenBus returns the Band bus on the transport's broker (the same
// RABBITMQ_* variables), with the exchanges named by BAND_EVENTS_EXCHANGE
// (default band.events) and BAND_REGISTRY_EXCHANGE (band.registry). It
// makes FromEnv's configuration a bus.Opener. Nothing connects yet.
func (e envConfig) OpenBus(env config.Env, log *slog.Logger) (bus.Bus, error) {
	opts := BusOptions{
		EventsExchange:   env.String("BAND_EVENTS_EXCHANGE", DefaultEventsExchange),
		RegistryExchange: env.String("BAND_REGISTRY_EXCHANGE", DefaultRegistryExchange),
	}
	for _, name := range []string{"BAND_EVENTS_EXCHANGE", "BAND_REGISTRY_EXCHANGE"} {
		if v := env.String(name, "x"); !ValidQueueName(v) {
			return nil, env.Error(name, "an exchange name of 1-200 bytes of UTF-8 without control characters, not starting with amq.")
		}
	}
	return NewBus(e.cfg, opts, log)
}

var _ bus.Opener = envConfig{}
