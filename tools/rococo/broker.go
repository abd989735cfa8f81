package main

import (
	"fmt"
	"os"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/rabbitmq"
	"github.com/rococo-go/rococo/rococo/sqs"
	"github.com/rococo-go/rococo/tools/rococo/internal/service"
)

// brokerTimeout bounds what send and dlq do on the broker.
const brokerTimeout = 30 * time.Second

// brokerOf returns the service's validated configuration (its env as
// `rococo dev` runs it) and its transport's configuration.
func brokerOf(getenv func(string) string, name string) (*config.Config, rococo.TransportConfig, error) {
	ws, err := workspace(getenv)
	if err != nil {
		return nil, nil, err
	}
	svc, err := service.Load(ws, name)
	if err != nil {
		return nil, nil, err
	}
	environ, err := svc.Environ(nil, os.Environ())
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(environ, "")
	if err != nil {
		return nil, nil, fmt.Errorf("the env of %s (BUILD.bazel, .env, .env.local, the shell): %w", name, err)
	}
	if cfg.ExecutionType != config.Messaging || cfg.QueueName == "" {
		return nil, nil, fmt.Errorf("%s is a %s service: it consumes no queue (send and dlq work on a MESSAGING service)", name, cfg.ExecutionType)
	}
	var tc rococo.TransportConfig
	switch cfg.MessagingType {
	case config.RabbitMQ:
		tc, err = rabbitmq.FromEnv(cfg)
	case config.SQS:
		tc, err = sqs.FromEnv(cfg)
	default:
		err = &config.Error{Var: "MESSAGING_TYPE", Value: cfg.MessagingType, Accepted: "RabbitMqConnection or SqsConnection"}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("the env of %s: %w", name, err)
	}
	return cfg, tc, nil
}
