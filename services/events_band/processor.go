// Command events_band is a Band listener: every event the gateway
// publishes on the keys it listens to is appended to a file as one JSON
// line, through a durable queue of its own (events published while it is
// down wait for it). See README.md.
package main

import (
	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/services/events_band/lib"
)

func main() {
	var set lib.Settings
	s := band.New(band.Settings(&set))
	w := lib.New(&set)

	band.Listen(s, "write", []string{"in.gen"}, w.Write)
	s.Cleanup("close", w.Close)

	common.Main(s) // EXECUTION_TYPE=BAND, MESSAGING_TYPE=RabbitMqConnection
}
