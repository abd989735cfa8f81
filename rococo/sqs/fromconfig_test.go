package sqs

import (
	"context"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

// TestConfigFrom maps a service's environment to the transport Config.
func TestConfigFrom(t *testing.T) {
	base := []string{
		"EXECUTION_TYPE=MESSAGING", "MESSAGING_TYPE=SqsConnection",
		"PROCESSOR_TYPE=ReportServiceProcessor", "ReportServiceProcessor_QUEUE_NAME=reports",
	}
	tests := []struct {
		name string
		env  []string
		want Config
	}{
		{"static keys and service endpoint", []string{"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIA1", "AWS_SECRET_ACCESS_KEY=s1", "AWS_ENDPOINT_URL_SQS=http://127.0.0.1:4566", "AWS_ENDPOINT_URL=http://127.0.0.1:1"},
			Config{Region: "eu-west-1", AccessKeyID: "AKIA1", SecretAccessKey: "s1", Endpoint: "http://127.0.0.1:4566"}},
		{"python's AWS_ACCESS_KEY_SECRET and the generic endpoint", []string{"AWS_REGION=us-east-2", "AWS_ACCESS_KEY_ID=AKIA2", "AWS_ACCESS_KEY_SECRET=s2", "AWS_ENDPOINT_URL=http://127.0.0.1:9324"},
			Config{Region: "us-east-2", AccessKeyID: "AKIA2", SecretAccessKey: "s2", Endpoint: "http://127.0.0.1:9324"}},
		{"temporary keys with a session token", []string{"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=ASIA3", "AWS_SECRET_ACCESS_KEY=s3", "AWS_SESSION_TOKEN=tok3"},
			Config{Region: "eu-west-1", AccessKeyID: "ASIA3", SecretAccessKey: "s3", SessionToken: "tok3"}},
		{"default chain", []string{"AWS_REGION=ap-south-1"}, Config{Region: "ap-south-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(append(append([]string{}, base...), tc.env...), "")
			if err != nil {
				t.Fatalf("config.Load = %v", err)
			}
			if got := ConfigFrom(cfg); got != tc.want {
				t.Errorf("ConfigFrom = %+v, want %+v", got.LogValue(), tc.want.LogValue())
			}
		})
	}
}

// TestFromConfig builds a working transport from a service's environment.
func TestFromConfig(t *testing.T) {
	cfg, err := config.Load([]string{
		"EXECUTION_TYPE=MESSAGING", "MESSAGING_TYPE=SqsConnection",
		"PROCESSOR_TYPE=P", "P_QUEUE_NAME=q", "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_ENDPOINT_URL_SQS=" + testEndpoint(t),
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := FromConfig(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("FromConfig = %v", err)
	}
	defer tr.Close()
	q := transporttest.QueueName(t)
	if err := tr.Publish(testCtx(t), q, &rococo.Message{Body: []byte(`{"via":"FromConfig"}`)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	ch, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1, WaitTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d := next(t, ch, "message published through FromConfig's transport")
	if string(d.Message().Body) != `{"via":"FromConfig"}` {
		t.Errorf("Body = %q", d.Message().Body)
	}
	if err := d.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Ready(); err != nil {
		t.Errorf("Ready() = %v", err)
	}
}
