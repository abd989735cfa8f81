// Command cleanup_cron is the cron example service: on a schedule it removes
// the files of a directory older than a maximum age. See README.md.
package main

import (
	"context"
	"log/slog"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/services/cleanup_cron/lib"
)

// CleanupProcessor removes old files on each run
// (PROCESSOR_TYPE=CleanupProcessor, EXECUTION_TYPE=CRON).
type CleanupProcessor struct {
	cleaner *lib.Cleaner
	log     *slog.Logger
}

// Init reads the CLEANUP_* settings and checks the directory.
func (p *CleanupProcessor) Init(_ context.Context, rt rococo.Runtime) error {
	cfg, err := lib.ConfigFromEnv(appconfig.FromOS())
	if err != nil {
		return err
	}
	p.log = rt.Logger
	p.cleaner, err = lib.New(cfg, rt.Logger)
	return err
}

// Process runs one cleaning. A file that cannot be removed makes the run
// fail (logged, counted, reported); the next run tries again.
func (p *CleanupProcessor) Process(ctx context.Context) error {
	res, err := p.cleaner.Clean(ctx)
	p.log.Info("cleanup done", "removed", res.Removed, "bytes", res.Bytes, "kept", res.Kept, "failed", res.Failed)
	return err
}

func main() { common.Main(&CleanupProcessor{}) }
