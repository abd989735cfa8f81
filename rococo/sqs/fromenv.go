package sqs

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// MessagingType is the MESSAGING_TYPE that selects this transport, as Python
// rococo names it.
const MessagingType = config.SQS

var (
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	sqsQueueRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	sqsFIFOName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,75}\.fifo$`)
)

// FromEnv reads and checks the transport's own variables from the service's
// environment: AWS_REGION, AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY (or
// Python rococo's AWS_ACCESS_KEY_SECRET) and AWS_SESSION_TOKEN (else the
// SDK's default credential chain), AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL,
// SQS_NUM_THREADS (default 1: messages processed at once), and from the
// CONSUME_CONFIG_FILE_PATH file LISTEN_INTERVAL (long-polling wait, 0 to
// 20 s in whole seconds rounded up, default 20 s; 0 short-polls) and VISIBILITY_TIMEOUT (0 to 12 h; 0 means the queue's
// own). It also checks that SQS accepts the name of the queue the service
// consumes and of its dead-letter queue. Errors are *config.Error. Nothing
// is sent to SQS. It has the type of host.TransportFactory.
func FromEnv(c *config.Config) (rococo.TransportConfig, error) {
	env, file := c.Env(), c.ConsumeFile()
	var e envConfig
	var err error
	e.cfg.MaxDeliveries = c.MaxRetries
	e.cfg.Region = env.Get("AWS_REGION")
	if e.cfg.Region != "" && !regionRE.MatchString(e.cfg.Region) {
		return nil, env.Error("AWS_REGION", "an AWS region such as us-east-1")
	}
	e.cfg.AccessKeyID = env.Get("AWS_ACCESS_KEY_ID")
	e.cfg.SecretAccessKey = env.Get("AWS_SECRET_ACCESS_KEY")
	if e.cfg.SecretAccessKey == "" {
		e.cfg.SecretAccessKey = env.Get("AWS_ACCESS_KEY_SECRET")
	}
	e.cfg.SessionToken = env.Get("AWS_SESSION_TOKEN")
	if e.cfg.AccessKeyID != "" && e.cfg.SecretAccessKey == "" {
		return nil, env.Error("AWS_SECRET_ACCESS_KEY", "the secret key of AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY_SECRET), or neither key for the SDK's default credential chain")
	}
	if e.cfg.AccessKeyID == "" && e.cfg.SecretAccessKey != "" {
		return nil, env.Error("AWS_ACCESS_KEY_ID", "the access key id that goes with AWS_SECRET_ACCESS_KEY, or neither key for the SDK's default credential chain")
	}
	for _, name := range []string{"AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL"} {
		v := env.Get(name)
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, env.Error(name, "an http or https URL such as http://127.0.0.1:4566")
		}
		if e.cfg.Endpoint == "" {
			e.cfg.Endpoint = v
		}
	}
	if e.threads, err = env.IntRange("SQS_NUM_THREADS", 1, 1, 1024, "a whole number of messages processed at once, 1-1024"); err != nil {
		return nil, err
	}
	if e.cfg.WaitTime, err = file.Duration("LISTEN_INTERVAL", DefaultWaitTime); err != nil {
		return nil, err
	}
	if e.cfg.WaitTime > DefaultWaitTime {
		return nil, file.Error("LISTEN_INTERVAL", "a long-polling wait of 0 to 20 seconds")
	}
	if e.cfg.WaitTime == 0 {
		e.cfg.WaitTime = NoWait // 0 is short polling, as SQS defines it
	}
	if e.cfg.VisibilityTimeout, err = file.Duration("VISIBILITY_TIMEOUT", 0); err != nil {
		return nil, err
	}
	if e.cfg.VisibilityTimeout > MaxVisibility {
		return nil, file.Error("VISIBILITY_TIMEOUT", "0 to 43200 seconds (12 hours)")
	}
	if q := c.QueueName; q != "" && !ValidQueueName(q) {
		return nil, c.QueueError("an SQS queue name of letters, digits, '-' and '_' (a FIFO queue ends in .fifo) short enough for its dead-letter queue " + deadLetterQueue("<name>") + " to stay within 80 characters")
	}
	return e, nil
}

// ValidQueueName reports whether SQS accepts queue and its dead-letter queue
// under the names this transport gives them (see QueueName).
func ValidQueueName(queue string) bool {
	for _, name := range []string{queue, deadLetterQueue(queue)} {
		if !sqsQueueRE.MatchString(name) && !sqsFIFOName.MatchString(name) {
			return false
		}
	}
	return true
}

// envConfig is the rococo.TransportConfig FromEnv returns.
type envConfig struct {
	cfg     Config
	threads int
}

// Concurrency returns SQS_NUM_THREADS.
func (e envConfig) Concurrency() int { return e.threads }

// Open returns the Transport: it resolves the region and credentials and
// sends no request to SQS.
func (e envConfig) Open(ctx context.Context, log *slog.Logger) (rococo.Transport, error) {
	return New(ctx, e.cfg, log)
}

// LogValue logs the configuration without secrets.
func (e envConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.Attr{Key: "sqs", Value: e.cfg.LogValue()}, slog.Int("num_threads", e.threads))
}

// waitSeconds is the ReceiveMessage WaitTimeSeconds for d (see
// Config.WaitTime): 0 for NoWait, 20 for zero, else whole seconds rounded
// up, at most 20.
func waitSeconds(d time.Duration) int32 {
	switch {
	case d < 0:
		return 0
	case d == 0 || d > DefaultWaitTime:
		d = DefaultWaitTime
	}
	return int32((d + time.Second - 1) / time.Second)
}
