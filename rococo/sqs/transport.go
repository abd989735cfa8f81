package sqs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/rococo-go/rococo/rococo"
)

// ErrClosed is returned by a Transport, and by settling a delivery whose
// delete could no longer be sent, after Close.
var ErrClosed = errors.New("sqs: transport closed")

// Limits of the SQS API.
const (
	// DefaultWaitTime is how long one receive long-polls when
	// Config.WaitTime is zero: LISTEN_INTERVAL's default, and the most SQS
	// allows (longer waits are capped to it).
	DefaultWaitTime = 20 * time.Second
	// NoWait as Config.WaitTime (any negative value) receives without
	// waiting (short polling, WaitTimeSeconds 0): LISTEN_INTERVAL=0.
	NoWait time.Duration = -1
	// shortPollPause is how long a consumer that short-polls waits after a
	// receive that brought nothing, so that an idle queue is not polled in
	// a busy loop.
	shortPollPause = time.Second
	// MaxVisibility is the longest visibility timeout SQS accepts, counted
	// from the receive. Retry delays and heartbeat extensions are capped to
	// it.
	MaxVisibility = 12 * time.Hour

	maxBatch      = 10         // entries in one batch request, messages in one receive
	maxBatchBytes = 256 * 1024 // payload of one SendMessageBatch
	// localRegion is the region used with an explicit endpoint and no
	// region configured: local servers accept any.
	localRegion = "us-east-1"
)

// Config configures a Transport. FromEnv fills it from the service's
// environment.
type Config struct {
	// Region is the AWS region (AWS_REGION). Empty lets the SDK's default
	// chain find one (AWS_REGION, AWS_DEFAULT_REGION, the shared config
	// file); when that finds none either, New fails, except with an
	// Endpoint, where "us-east-1" is used.
	Region string
	// AccessKeyID and SecretAccessKey are static credentials
	// (AWS_ACCESS_KEY_ID, and AWS_SECRET_ACCESS_KEY or Python rococo's
	// AWS_ACCESS_KEY_SECRET). When both are empty, the SDK's default chain
	// supplies credentials (environment, shared files, SSO, web identity,
	// ECS and EC2 roles). Setting only one of them is an error. The secret
	// is never logged.
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken goes with temporary static keys (AWS_SESSION_TOKEN); it is
	// never logged.
	SessionToken string
	// Endpoint overrides the SQS endpoint (AWS_ENDPOINT_URL_SQS, else
	// AWS_ENDPOINT_URL), for example "http://127.0.0.1:4566" for a local
	// server. Empty means the region's AWS endpoint.
	Endpoint string
	// WaitTime is how long one receive long-polls (LISTEN_INTERVAL), in
	// whole seconds (rounded up: 1.5s waits 2 s). Zero means
	// DefaultWaitTime, the most SQS allows; longer waits are capped to it.
	// NoWait (any negative value) short-polls: WaitTimeSeconds 0, and
	// after an empty receive the consumer pauses 1 s before the next.
	WaitTime time.Duration
	// VisibilityTimeout is the visibility timeout of every receive
	// (VISIBILITY_TIMEOUT), rounded up to whole seconds and capped at
	// MaxVisibility. Zero means each queue's own VisibilityTimeout
	// attribute.
	VisibilityTimeout time.Duration
	// MaxDeliveries is how many attempts a message gets whose consumer
	// dies holding it each time (a crash loop) before it is dead-lettered:
	// MAX_RETRIES, as FromEnv sets it. A message received with an Attempt
	// above it, counted from receives that were never settled (see
	// Message.Attempt in the README), goes to the dead-letter queue
	// instead of to a processor. 0 means no limit.
	MaxDeliveries int
}

// LogValue implements slog.LogValuer: the region, endpoint and access key
// id, never the secret key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("region", c.Region),
		slog.String("endpoint", c.Endpoint),
		slog.String("access_key_id", c.AccessKeyID),
		slog.Bool("static_credentials", c.SecretAccessKey != ""),
		slog.Duration("wait_time", time.Duration(waitSeconds(c.WaitTime))*time.Second), // 0s: short polling
		slog.Duration("visibility_timeout", c.VisibilityTimeout),
		slog.Int("max_deliveries", c.MaxDeliveries),
	)
}

// Transport is a rococo.Transport on Amazon SQS (or an SQS-compatible
// server). SQS has no connection: a Transport is an HTTP client, and
// Ready reports the outcome of its last receive.
//
// Queues are looked up by name and created when missing (GetQueueUrl, then
// CreateQueue), as Python rococo does, for Consume (the queue and its
// dead-letter queue) and Publish alike; see QueueName for the dead-letter
// queue's SQS name.
//
// A Transport has no global state and is safe for concurrent use.
type Transport struct {
	client *awssqs.Client
	cfg    Config
	log    *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	// pollCtx bounds receives: cancelled by Close once receives in flight
	// had their wait time to end.
	pollCtx     context.Context
	cancelPolls context.CancelFunc
	wg          sync.WaitGroup // consumers' goroutines

	mu        sync.Mutex
	closed    bool
	urls      map[string]string // rococo queue name -> queue URL
	consumers map[*consumer]struct{}
	lastErr   error // last receive failure, nil after a success
}

var _ rococo.Transport = (*Transport)(nil)

// New returns a Transport for cfg. It resolves the region and credentials
// (so missing credentials fail here, not at the first receive) but sends no
// request to SQS. log may be nil to discard logs.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Transport, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, errors.New("sqs: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_SECRET), or neither to use the default credential chain")
	}
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("sqs: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("sqs: no AWS region: set AWS_REGION")
		}
		awsCfg.Region = localRegion
	}
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("sqs: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure the SDK's default chain: %w", err)
	}
	awsCfg.HTTPClient = newHTTPClient(awsCfg.HTTPClient)
	client := awssqs.NewFromConfig(awsCfg, func(o *awssqs.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	cfg.Region = awsCfg.Region
	log.Debug("sqs transport", slog.Any("config", cfg))
	tctx, cancel := context.WithCancel(context.Background())
	pctx, cancelPolls := context.WithCancel(context.Background())
	return &Transport{
		client:      client,
		cfg:         cfg,
		log:         log,
		ctx:         tctx,
		cancel:      cancel,
		pollCtx:     pctx,
		cancelPolls: cancelPolls,
		urls:        map[string]string{},
		consumers:   map[*consumer]struct{}{},
	}, nil
}

// Client returns the SDK client the transport uses, for what the transport
// does not wrap (queue attributes, purges, FIFO sends).
func (t *Transport) Client() *awssqs.Client { return t.client }

// Ready returns nil unless the transport was closed or its last receive
// failed. It never blocks on the network.
func (t *Transport) Ready() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	return t.lastErr
}

// Close stops every consumer (their channels close), lets receives in
// flight end (for at most their wait time, LISTEN_INTERVAL, plus 5 s; then
// it aborts them) and hands back what they bring, so no message is left
// invisible for its visibility timeout after a deploy, sends the deletes
// still pending (for at most about 10 s) and waits for the transport's
// goroutines. Deliveries settled after Close fail with ErrClosed and come
// back after their visibility timeout. Close is safe to call more than
// once; it always returns nil.
func (t *Transport) Close() error {
	t.mu.Lock()
	first := !t.closed
	t.closed = true
	t.mu.Unlock()
	if first {
		t.cancel()
	}
	abort := time.AfterFunc(time.Duration(waitSeconds(t.cfg.WaitTime))*time.Second+receiveSlack, t.cancelPolls)
	t.wg.Wait()
	abort.Stop()
	t.cancelPolls()
	t.mu.Lock()
	consumers := make([]*consumer, 0, len(t.consumers))
	for c := range t.consumers {
		consumers = append(consumers, c)
	}
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Go(c.del.close)
	}
	wg.Wait()
	return nil
}

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

func (t *Transport) setErr(err error) {
	t.mu.Lock()
	t.lastErr = err
	t.mu.Unlock()
}

// queueURL returns the URL of queue (a rococo name), creating the queue when
// it does not exist. URLs are cached until forgetQueue.
func (t *Transport) queueURL(ctx context.Context, queue string) (string, error) {
	u, _, err := t.lookupQueue(ctx, queue)
	return u, err
}

// lookupQueue is queueURL, and reports whether it created the queue.
func (t *Transport) lookupQueue(ctx context.Context, queue string) (u string, created bool, err error) {
	t.mu.Lock()
	u, ok := t.urls[queue]
	t.mu.Unlock()
	if ok {
		return u, false, nil
	}
	name := QueueName(queue)
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	got, err := t.client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
	switch {
	case err == nil:
		u = aws.ToString(got.QueueUrl)
	case isNotExist(err):
		in := &awssqs.CreateQueueInput{QueueName: aws.String(name)}
		if isFIFO(name) {
			in.Attributes = map[string]string{string(types.QueueAttributeNameFifoQueue): "true"}
		}
		out, err := t.client.CreateQueue(ctx, in)
		if err != nil {
			return "", false, fmt.Errorf("create queue %q: %w", name, err)
		}
		u, created = aws.ToString(out.QueueUrl), true
		t.log.Info("created queue", slog.String("queue", name), slog.String("url", u))
	default:
		return "", false, fmt.Errorf("look up queue %q: %w", name, err)
	}
	t.mu.Lock()
	t.urls[queue] = u
	t.mu.Unlock()
	return u, created, nil
}

// forgetQueue drops queue's cached URL after SQS said it does not exist.
func (t *Transport) forgetQueue(queue string) {
	t.mu.Lock()
	delete(t.urls, queue)
	t.mu.Unlock()
}

// isNotExist reports whether err says the queue does not exist.
func isNotExist(err error) bool {
	var nf *types.QueueDoesNotExist
	if errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "AWS.SimpleQueueService.NonExistentQueue"
}

// isPermanentAPIError reports whether err is an answer from SQS (as opposed
// to a network failure) that retrying the same request cannot change. The
// SDK has already retried throttling and server errors.
func isPermanentAPIError(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && !isNotExist(err)
}

func isFIFO(name string) bool { return strings.HasSuffix(name, fifoSuffix) }
