// Command useragent_band is a Band enricher: for every hit through the
// gateway it names the browser, the operating system and the kind of
// device from the hit's User-Agent, with a small table shipped in the
// binary. See README.md.
package main

import (
	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo/band"
	"github.com/rococo-go/rococo/services/useragent_band/lib"
)

func main() {
	s := band.New()
	ua := lib.New(lib.Table())

	// Every hit ("in.gen" is Band's prefix key: in.gen.#); the enricher
	// receives the User-Agent and nothing else, and its answer lands under
	// data.ua.
	band.Enrich(s, "parse", []string{"in.gen"}, map[string]string{"ua": "td.ua"}, ua.Parse, band.Alias("ua"))

	common.Main(s) // EXECUTION_TYPE=BAND
}
