// Command full is a fixture service of rules/tests: a cron processor whose
// rococo_service sets every image, push and Kubernetes attribute, so that
// its generated tests check each of them. See README.md.
package main

import (
	"context"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rules/tests/full/lib"
)

// FullProcessor does nothing but say so on each run.
type FullProcessor struct{}

// Process runs one (empty) job.
func (FullProcessor) Process(ctx context.Context) error { return lib.Run(ctx) }

func main() { common.Main(FullProcessor{}) }
