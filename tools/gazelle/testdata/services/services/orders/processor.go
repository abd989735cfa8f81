// Command orders handles order events.
package main

import (
	"context"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo"
)

// OrderEventsProcessor handles one order event.
type OrderEventsProcessor struct{}

// Process handles msg.
func (p *OrderEventsProcessor) Process(ctx context.Context, msg *rococo.Message) error { return nil }

func main() { common.Main(&OrderEventsProcessor{}) }
