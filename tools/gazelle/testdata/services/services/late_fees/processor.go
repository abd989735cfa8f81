// Command late_fees charges late fees.
package main

import (
	"context"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo"
)

// LateFeesProcessor handles one late fee.
type LateFeesProcessor struct{}

// Process handles msg.
func (p *LateFeesProcessor) Process(ctx context.Context, msg *rococo.Message) error { return nil }

func main() { common.Main(&LateFeesProcessor{}) }
