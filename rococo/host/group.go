package host

import (
	"context"
	"errors"
	"sync"
)

// group runs runners side by side: the processor's runner with a band
// service's listeners and announcer. Run returns when all have returned;
// the first error cancels the others.
type group []runner

func (g group) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(g))
	var wg sync.WaitGroup
	for i, r := range g {
		wg.Go(func() {
			if errs[i] = r.Run(ctx); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Ready is nil when every runner is ready.
func (g group) Ready() error {
	var errs []error
	for _, r := range g {
		errs = append(errs, r.Ready())
	}
	return errors.Join(errs...)
}
