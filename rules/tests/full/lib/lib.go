// Package lib is the fixture service's business logic: none.
package lib

import "context"

// Run does nothing and returns ctx's error.
func Run(ctx context.Context) error { return ctx.Err() }
