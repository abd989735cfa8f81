package rococo

import (
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"

	"github.com/rococo-go/rococo/tools/internal/processors"
)

// bandImport is the runtime's package whose import marks a Band service.
const bandImport = "github.com/rococo-go/rococo/rococo/band"

// Execution types, as EXECUTION_TYPE and rococo_service's execution_type spell them.
const (
	messaging = "MESSAGING"
	cron      = "CRON"
	band      = "BAND"
)

// service is what processor.go says about its service.
type service struct {
	// executionType is MESSAGING, CRON or BAND; "" when processor.go shows none.
	executionType string
	// processorType is the processor's Go type name; "" for BAND and when none was found.
	processorType string
}

// inferService reads dir/processor.go. A type with a method
// Process(context.Context, *rococo.Message) error is a message processor (MESSAGING), one with
// Process(context.Context) error a cron processor (CRON); the first such type in the file wins.
// Without a processor, a file that imports rococo/band is a Band service (BAND).
func inferService(dir string) (service, error) {
	path := filepath.Join(dir, "processor.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return service{}, fmt.Errorf("parse %s: %w", path, err)
	}
	if procs := processors.InFile(f); len(procs) > 0 {
		et := messaging
		if procs[0].Kind == processors.Cron {
			et = cron
		}
		return service{executionType: et, processorType: procs[0].Type}, nil
	}
	if _, ok := processors.ImportNames(f)[bandImport]; ok {
		return service{executionType: band}, nil
	}
	return service{}, nil
}
