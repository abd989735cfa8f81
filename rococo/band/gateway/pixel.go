package gateway

import (
	"context"

	"github.com/rococo-go/rococo/rococo/band"
)

// Pixel is the gateway's own tracking hit: registered on the gateway's
// service as band.Handle(s, "pixel", gateway.Pixel), a hit on
// /front/pixel?... is enriched, answered with Band's 1x1 GIF and
// published to the listeners, with no other service's handler involved.
func Pixel(context.Context, struct{}) (band.Response, error) { return band.Pixel(), nil }
