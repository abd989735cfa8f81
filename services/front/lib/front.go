// Package lib is front's wiring: the gateway's routes and its registry
// worker on a Band service.
package lib

import (
	"log/slog"

	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/band/gateway"
)

// Register mounts a gateway with set on s: the hits at /{service}/{name},
// front's own tracking pixel (GET /front/pixel through the gateway) and
// the worker that keeps the registry fed with the services'
// announcements. It returns the gateway.
func Register(s *band.Service, set *gateway.Settings, log *slog.Logger) *gateway.Gateway {
	gw := gateway.New(gateway.Options{Settings: set, Logger: log})
	band.Handle(s, "/{service}/{name}", gw.Hit, band.Local())
	// Served over the bus as any service's handler: a hit on /front/pixel
	// answers the GIF and publishes in.gen.front.pixel.
	band.Handle(s, "pixel", gateway.Pixel)
	s.Worker("registry", gw.Watch)
	return gw
}
