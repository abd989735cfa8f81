// Command geo_band is the Band example service: IP geolocation with a
// database loaded by a worker that gates readiness, a tracking pixel, short
// links, a streamed export and a cleanup that writes the hit counts at
// shutdown. See README.md.
package main

import (
	"time"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/services/geo_band/lib"
)

func main() {
	cfg := lib.DefaultSettings()
	s := band.New(band.Settings(&cfg))
	geo := lib.New(&cfg)

	// Handlers: GET and POST /lookup/{ip} (a path without a method serves
	// both, as Band does), the rest with their own method.
	band.Handle(s, "/lookup/{ip}", geo.Lookup, band.Timeout(2*time.Second))
	band.Handle(s, "POST /lookup", geo.LookupMany, band.Timeout(5*time.Second), band.MaxBody(64<<10))
	band.Handle(s, "hit", geo.Hit)
	band.Handle(s, "GET /hits", geo.Hits)
	band.Handle(s, "GET /go/{code}", geo.Go)
	band.Handle(s, "GET /export", geo.Export)
	band.Handle(s, "GET /debug/sleep", geo.Sleep, band.Timeout(time.Second))
	band.Handle(s, "GET /debug/panic", geo.Panic)

	s.Worker("load", geo.Load, band.GatesReadiness())
	s.Every("report_hits", time.Minute, geo.ReportHits)
	s.Cleanup("flush_hits", geo.FlushHits)

	common.Main(s)
}
