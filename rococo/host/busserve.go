package host

import (
	"context"

	"github.com/rococo-go/rococo/rococo/band"
)

// busServer serves a Band service's handlers and enrichers over its bus,
// for the gateway, until ctx ends (intake stops).
type busServer struct {
	fns  *band.Runner
	name string
}

func (b busServer) Run(ctx context.Context) error { return b.fns.ServeBus(ctx, b.name) }

// Ready is nil: the calls are served as soon as the bus is open.
func (busServer) Ready() error { return nil }
