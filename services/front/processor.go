// Command front is Band's gateway as a service: hits at /<service>/<name>
// are enriched by the enrichers whose patterns match their key, handled by
// the service's handler over the bus, and published to the listeners with
// publisher confirms before the answer. See README.md.
package main

import (
	"log/slog"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/rococo/band/gateway"
	"github.com/rococo-go/rococo/services/front/lib"
)

func main() {
	set := gateway.DefaultSettings()
	s := band.New(band.Settings(&set))
	lib.Register(s, &set, slog.Default().With("component", "gateway"))

	common.Main(s) // EXECUTION_TYPE=BAND
}
