// Command billing charges customers.
package main

import (
	"context"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/services/billing/lib"
)

// BillingProcessor charges one customer.
type BillingProcessor struct{}

// Process charges the customer in msg.
func (p *BillingProcessor) Process(ctx context.Context, msg *rococo.Message) error {
	return lib.Charge(ctx, msg.Body)
}

func main() { common.Main(&BillingProcessor{}) }
