package sqs

import (
	"context"
	"log/slog"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
)

// FromConfig returns a Transport for a service's configuration
// (MESSAGING_TYPE=SqsConnection): AWS_REGION, AWS_ACCESS_KEY_ID with
// AWS_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_SECRET (else the SDK's default
// credential chain), and AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL. It has
// the signature of host.TransportFactory. Concurrency (SQS_NUM_THREADS),
// LISTEN_INTERVAL and VISIBILITY_TIMEOUT reach the transport through the
// router's ConsumeOptions.
func FromConfig(ctx context.Context, cfg *config.Config, log *slog.Logger) (rococo.Transport, error) {
	return New(ctx, ConfigFrom(cfg), log)
}

// ConfigFrom returns the transport Config of a service's configuration.
func ConfigFrom(cfg *config.Config) Config {
	return Config{
		Region:          cfg.SQS.Region,
		AccessKeyID:     cfg.SQS.AccessKeyID,
		SecretAccessKey: cfg.SQS.SecretAccessKey.Reveal(),
		SessionToken:    cfg.SQS.SessionToken.Reveal(),
		Endpoint:        cfg.SQS.Endpoint,
	}
}
