// Command nightly runs a nightly job.
package main

import (
	"context"

	"github.com/rococo-go/rococo/common"
)

// NightlyProcessor runs the job.
type NightlyProcessor struct{}

// Process runs the job once.
func (NightlyProcessor) Process(context.Context) error { return nil }

func main() { common.Main(NightlyProcessor{}) }
