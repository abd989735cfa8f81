// Command report_sqs is the SQS example service: it consumes report requests
// (JSON) from its SQS queue, summarises them and delivers the summaries. See
// README.md.
package main

import (
	"context"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/services/report_sqs/lib"
)

// ReportServiceProcessor summarises the report requests it receives
// (PROCESSOR_TYPE=ReportServiceProcessor).
type ReportServiceProcessor struct {
	reporter *lib.Reporter
	close    func() error
}

// Init builds the reporter from the service's environment; the runtime's
// Publisher serves REPORT_RESULTS_QUEUE.
func (p *ReportServiceProcessor) Init(_ context.Context, rt rococo.Runtime) error {
	r, closeFn, err := lib.NewReporterFromEnv(appconfig.FromOS(), rt.Publisher, rt.Logger)
	if err != nil {
		return err
	}
	p.reporter, p.close = r, closeFn
	return nil
}

// Process summarises one request. An undecodable or invalid request is a
// permanent error (dead-lettered at once); a failing data source or sink is
// retried.
func (p *ReportServiceProcessor) Process(ctx context.Context, msg *rococo.Message) error {
	return p.reporter.Handle(ctx, msg)
}

// Close releases the output file once consuming stopped.
func (p *ReportServiceProcessor) Close() error {
	if p.close == nil {
		return nil
	}
	return p.close()
}

func main() { common.Main(&ReportServiceProcessor{}) }
