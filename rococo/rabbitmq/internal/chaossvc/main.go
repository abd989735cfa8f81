// Command chaossvc is the service the RabbitMQ transport's chaos test
// kills and restarts: ChaosProcessor works 1 to 20 ms on each message, then
// appends the message's id to the file CHAOS_OUTBOX_FILE. The test counts
// the ids there: none missing (lost), some twice (redelivered after a kill).
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// EnvOutboxFile names the file the processed ids are appended to.
const EnvOutboxFile = "CHAOS_OUTBOX_FILE"

// ChaosProcessor records the id of every message it processed
// (PROCESSOR_TYPE=ChaosProcessor).
type ChaosProcessor struct {
	mu  sync.Mutex
	out *os.File
}

// Init opens the outbox file.
func (p *ChaosProcessor) Init(context.Context, rococo.Runtime) error {
	path := os.Getenv(EnvOutboxFile)
	if path == "" {
		return &config.Error{Var: EnvOutboxFile, Accepted: "a file to append the processed message ids to"}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", EnvOutboxFile, err)
	}
	p.out = f
	return nil
}

// Process works 1 to 20 ms, then appends the message's "id" and a newline
// to the outbox in one write.
func (p *ChaosProcessor) Process(ctx context.Context, msg *rococo.Message) error {
	var m struct {
		ID string `json:"id"`
	}
	if err := msg.Decode(&m); err != nil {
		return err
	}
	timer := time.NewTimer(time.Duration(1+rand.IntN(20)) * time.Millisecond)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.out.WriteString(m.ID + "\n"); err != nil {
		return fmt.Errorf("record message %q: %w", m.ID, err)
	}
	return nil
}

// Close closes the outbox once consuming stopped.
func (p *ChaosProcessor) Close() error {
	if p.out == nil {
		return nil
	}
	return p.out.Close()
}

func main() { common.Main(&ChaosProcessor{}) }
