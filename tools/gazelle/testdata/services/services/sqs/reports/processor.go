// Command reports builds reports.
package main

import (
	"context"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo"
)

// ReportProcessor builds one report.
type ReportProcessor struct{}

// Process builds the report msg asks for.
func (p *ReportProcessor) Process(ctx context.Context, msg *rococo.Message) error { return nil }

func main() { common.Main(&ReportProcessor{}) }
