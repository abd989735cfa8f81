package lib

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/rococo-go/rococo/common/appconfig"
	"github.com/rococo-go/rococo/common/jsonl"
	"github.com/rococo-go/rococo/rococo"
)

// Email is the message body the service consumes, as a Python rococo
// service would send it: {"id": "...", "to": "...", "subject": "...", "body": "..."}.
type Email struct {
	ID      string `json:"id"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// Validate reports what makes e unsendable. Such an email can never be
// sent, so the error is permanent (the runtime dead-letters it at once).
func (e Email) Validate() error {
	if _, err := mail.ParseAddress(e.To); err != nil {
		return rococo.Permanent(fmt.Errorf("email %q: invalid recipient %q: %w", e.ID, e.To, err))
	}
	if strings.TrimSpace(e.Subject) == "" {
		return rococo.Permanent(fmt.Errorf("email %q: empty subject", e.ID))
	}
	return nil
}

// Sent is what an Outbox records for one email.
type Sent struct {
	Email
	Attempt     int  `json:"attempt"`
	Redelivered bool `json:"redelivered"`
}

// Outbox delivers emails. Deliver must be safe for concurrent use.
type Outbox interface {
	Deliver(ctx context.Context, s Sent) error
}

// FileOutbox appends one JSON line per email to a file (common/jsonl:
// concurrent lines never interleave).
type FileOutbox struct{ f *jsonl.File }

// OpenFileOutbox opens (creating it when missing) the file at path for
// appending.
func OpenFileOutbox(path string) (*FileOutbox, error) {
	f, err := jsonl.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	return &FileOutbox{f: f}, nil
}

// Deliver appends s as one JSON line.
func (o *FileOutbox) Deliver(_ context.Context, s Sent) error {
	if err := o.f.Append(s); err != nil {
		return fmt.Errorf("write email %q to outbox: %w", s.ID, err)
	}
	return nil
}

// Close closes the file.
func (o *FileOutbox) Close() error { return o.f.Close() }

// LogOutbox logs each email instead of sending it.
type LogOutbox struct{ Logger *slog.Logger }

// Deliver logs s.
func (o LogOutbox) Deliver(_ context.Context, s Sent) error {
	o.Logger.Info("email sent", slog.String("id", s.ID), slog.String("to", s.To), slog.String("subject", s.Subject))
	return nil
}

// ErrTemporary is the error of a simulated temporary delivery failure
// (see Mailer.FailDomain); the runtime retries it with backoff.
var ErrTemporary = errors.New("451 temporary failure, try again later")

// Mailer sends emails through an Outbox.
type Mailer struct {
	// Outbox receives every valid email.
	Outbox Outbox
	// Delay is how long sending one email takes (simulated latency).
	Delay time.Duration
	// FailDomain, when set, makes every email to that domain fail with
	// ErrTemporary: a stand-in for a mail server that keeps deferring it.
	FailDomain string
}

// Send validates e and delivers it. It returns a permanent error for an
// invalid email, ErrTemporary for the FailDomain, and ctx's error when ctx
// ends during the simulated latency.
func (m *Mailer) Send(ctx context.Context, e Email, attempt int, redelivered bool) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if m.FailDomain != "" && strings.HasSuffix(strings.ToLower(e.To), "@"+strings.ToLower(m.FailDomain)) {
		return fmt.Errorf("send email %q to %s: %w", e.ID, e.To, ErrTemporary)
	}
	if m.Delay > 0 {
		timer := time.NewTimer(m.Delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("send email %q: %w", e.ID, ctx.Err())
		case <-timer.C:
		}
	}
	return m.Outbox.Deliver(ctx, Sent{Email: e, Attempt: attempt, Redelivered: redelivered})
}

// Env names the service reads (besides the runtime's own).
const (
	EnvOutboxFile = "EMAIL_OUTBOX_FILE"
	EnvSendDelay  = "EMAIL_SEND_DELAY"
	EnvFailDomain = "EMAIL_FAIL_DOMAIN"
)

// NewMailerFromEnv builds a Mailer from the service's environment:
// EMAIL_OUTBOX_FILE (append sent emails to this file; unset logs them),
// EMAIL_SEND_DELAY (a duration, default 0) and EMAIL_FAIL_DOMAIN. The
// returned close function releases the outbox.
func NewMailerFromEnv(env appconfig.Env, log *slog.Logger) (*Mailer, func() error, error) {
	delay, err := env.Duration(EnvSendDelay, 0)
	if err != nil {
		return nil, nil, err
	}
	m := &Mailer{FailDomain: env.String(EnvFailDomain, ""), Delay: delay}
	closeFn := func() error { return nil }
	if path := env.String(EnvOutboxFile, ""); path != "" {
		o, err := OpenFileOutbox(path)
		if err != nil {
			return nil, nil, err
		}
		m.Outbox, closeFn = o, o.Close
	} else {
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		m.Outbox = LogOutbox{Logger: log}
	}
	return m, closeFn, nil
}
