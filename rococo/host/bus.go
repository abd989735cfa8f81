package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/bus"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/router"
)

// A Band service on a broker with a bus (MESSAGING_TYPE=RabbitMqConnection)
// announces its /status document on it every BAND_ANNOUNCE_PERIOD, and each
// of its listeners consumes its own durable queue through a router.

// DefaultAnnouncePeriod is how often a Band service announces itself when
// BAND_ANNOUNCE_PERIOD is unset; the registry keeps an entry for
// bus.DefaultTTL (30 s), six periods.
const DefaultAnnouncePeriod = 5 * time.Second

// announceTimeout bounds one announcement.
const announceTimeout = 5 * time.Second

// openBus opens the band service's bus when the transport has one, and
// returns the runners of its listeners and of its announcements. A service
// with listeners or enrichers and no such transport is a configuration error.
func (s *service) openBus(ctx context.Context, tcfg rococo.TransportConfig, d deps) (bus.Bus, []runner, error) {
	listeners := s.fns.Listeners()
	opener, ok := tcfg.(bus.Opener)
	if !ok {
		if len(listeners) > 0 {
			return nil, nil, &config.Error{Var: "MESSAGING_TYPE", Value: s.cfg.MessagingType,
				Accepted: fmt.Sprintf("RabbitMqConnection: the band listener %s receives events over RabbitMQ's topic routing (SQS has none)", listeners[0].Name)}
		}
		if enrichers := s.fns.Enrichers(); len(enrichers) > 0 {
			return nil, nil, &config.Error{Var: "MESSAGING_TYPE", Value: s.cfg.MessagingType,
				Accepted: fmt.Sprintf("RabbitMqConnection: the band enricher %s answers the gateway over RabbitMQ's request/reply (SQS has none)", enrichers[0])}
		}
		return nil, nil, nil
	}
	env := s.cfg.Env()
	period, err := env.PositiveDuration("BAND_ANNOUNCE_PERIOD", DefaultAnnouncePeriod)
	if err != nil {
		return nil, nil, err
	}
	b, err := opener.OpenBus(env, s.log.With("component", "bus"))
	if err != nil {
		return nil, nil, err
	}
	runners := []runner{&announcer{bus: b, period: period, doc: s.statusDoc, log: s.log.With("component", "announcer")}}
	for _, l := range listeners {
		r, err := s.listenerRunner(ctx, b, l, d)
		if err != nil {
			closeBus(s.log, b)
			return nil, nil, err
		}
		runners = append(runners, r)
	}
	return b, runners, nil
}

// closeBus closes b when it holds a connection.
func closeBus(log *slog.Logger, b bus.Bus) {
	if c, ok := b.(io.Closer); ok {
		closeLogged(log, "bus", c)
	}
}

// listenerRunner binds the listener's queue to its patterns and returns the
// router that consumes it.
func (s *service) listenerRunner(ctx context.Context, b bus.Bus, l band.Listener, d deps) (runner, error) {
	binder, ok := b.(bus.Binder)
	if !ok {
		return nil, fmt.Errorf("band listener %s: the bus cannot bind queues", l.Name)
	}
	queue := band.ListenerQueue(s.name, l.Name)
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := binder.Bind(bctx, queue, l.Patterns); err != nil {
		return nil, fmt.Errorf("band listener %s: %w", l.Name, err)
	}
	cfg := s.cfg
	return router.New(d.transport, l.Process, router.Config{
		Queue:           queue,
		Concurrency:     d.concurrency,
		MaxRetries:      cfg.MaxRetries,
		RetryBackoff:    cfg.RetryBackoff,
		MaxRetryBackoff: cfg.MaxRetryBackoff,
		ShutdownTimeout: max(cfg.ShutdownTimeout, time.Nanosecond),
		Logger:          s.log.With("component", "router", "listener", l.Name),
		Metrics:         d.metrics,
		Reporter:        d.reporter,
	})
}

// statusDoc is the /status document as announced; stopping makes its state
// "stopped", the last announcement, which removes the service from the
// registries at once.
func (s *service) statusDoc(stopping bool) ([]byte, error) {
	st := s.status()
	st.UptimeSeconds = time.Since(st.Started).Seconds()
	if stopping {
		st.State = bus.StateStopped
	}
	return json.Marshal(st)
}

// announcer announces the service every period until its ctx ends, then
// once more as stopped.
type announcer struct {
	bus    bus.Bus
	period time.Duration
	doc    func(stopping bool) ([]byte, error)
	log    *slog.Logger
}

func (a *announcer) Run(ctx context.Context) error {
	t := time.NewTicker(a.period)
	defer t.Stop()
	failing := false
	for {
		err := a.announce(ctx, false)
		switch {
		case err != nil && !failing:
			a.log.Warn("announcement failed: the gateway will drop the service after its TTL if this goes on", "error", err)
		case err == nil && failing:
			a.log.Info("announcing again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			if err := a.announce(context.WithoutCancel(ctx), true); err != nil {
				a.log.Warn("the last announcement (stopped) failed: registries drop the service after their TTL", "error", err)
			}
			return nil
		case <-t.C:
		}
	}
}

func (a *announcer) announce(ctx context.Context, stopping bool) error {
	doc, err := a.doc(stopping)
	if err != nil {
		return fmt.Errorf("encode the status: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, announceTimeout)
	defer cancel()
	if err := a.bus.Announce(actx, doc); err != nil && !errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	return nil
}

// Ready is nil: announcing is not part of readiness.
func (a *announcer) Ready() error { return nil }
