// Command email_rabbitmq is the RabbitMQ example service: it consumes email
// requests (JSON) from its queue and sends them. See README.md.
package main

import (
	"context"

	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/services/email_rabbitmq/lib"
)

// EmailServiceProcessor sends the emails it receives
// (PROCESSOR_TYPE=EmailServiceProcessor).
type EmailServiceProcessor struct {
	mailer *lib.Mailer
	close  func() error
}

// Init builds the mailer from the service's environment.
func (p *EmailServiceProcessor) Init(_ context.Context, rt rococo.Runtime) error {
	m, closeFn, err := lib.NewMailerFromEnv(appconfig.FromOS(), rt.Logger)
	if err != nil {
		return err
	}
	p.mailer, p.close = m, closeFn
	return nil
}

// Process decodes one email and sends it. An undecodable or invalid email is
// a permanent error (dead-lettered at once); a delivery failure is retried.
func (p *EmailServiceProcessor) Process(ctx context.Context, msg *rococo.Message) error {
	var e lib.Email
	if err := msg.Decode(&e); err != nil {
		return err
	}
	return p.mailer.Send(ctx, e, msg.Attempt, msg.Redelivered)
}

// Close releases the outbox once consuming stopped.
func (p *EmailServiceProcessor) Close() error {
	if p.close == nil {
		return nil
	}
	return p.close()
}

func main() { common.Main(&EmailServiceProcessor{}) }
