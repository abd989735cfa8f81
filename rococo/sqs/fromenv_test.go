package sqs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

func loadEnv(t *testing.T, dir string, env ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(append([]string{
		"EXECUTION_TYPE=MESSAGING", "MESSAGING_TYPE=SqsConnection",
		"PROCESSOR_TYPE=ReportServiceProcessor", "ReportServiceProcessor_QUEUE_NAME=reports",
	}, env...), dir)
	if err != nil {
		t.Fatalf("config.Load = %v", err)
	}
	return cfg
}

// TestFromEnv maps a service's environment to the transport Config.
func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		want    Config
		threads int
	}{
		{"static keys and service endpoint", []string{"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIA1", "AWS_SECRET_ACCESS_KEY=s1", "AWS_ENDPOINT_URL_SQS=http://127.0.0.1:4566", "AWS_ENDPOINT_URL=http://127.0.0.1:1", "SQS_NUM_THREADS=4"},
			Config{Region: "eu-west-1", AccessKeyID: "AKIA1", SecretAccessKey: "s1", Endpoint: "http://127.0.0.1:4566", WaitTime: DefaultWaitTime, MaxDeliveries: 5}, 4},
		{"python's AWS_ACCESS_KEY_SECRET and the generic endpoint", []string{"AWS_REGION=us-east-2", "AWS_ACCESS_KEY_ID=AKIA2", "AWS_ACCESS_KEY_SECRET=s2", "AWS_ENDPOINT_URL=http://127.0.0.1:9324"},
			Config{Region: "us-east-2", AccessKeyID: "AKIA2", SecretAccessKey: "s2", Endpoint: "http://127.0.0.1:9324", WaitTime: DefaultWaitTime, MaxDeliveries: 5}, 1},
		{"temporary keys with a session token", []string{"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=ASIA3", "AWS_SECRET_ACCESS_KEY=s3", "AWS_SESSION_TOKEN=tok3"},
			Config{Region: "eu-west-1", AccessKeyID: "ASIA3", SecretAccessKey: "s3", SessionToken: "tok3", WaitTime: DefaultWaitTime, MaxDeliveries: 5}, 1},
		{"default chain", []string{"AWS_REGION=ap-south-1"}, Config{Region: "ap-south-1", WaitTime: DefaultWaitTime, MaxDeliveries: 5}, 1},
		{"MAX_RETRIES bounds a crash loop", []string{"AWS_REGION=ap-south-1", "MAX_RETRIES=2"}, Config{Region: "ap-south-1", WaitTime: DefaultWaitTime, MaxDeliveries: 2}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tcfg, err := FromEnv(loadEnv(t, "", tc.env...))
			if err != nil {
				t.Fatalf("FromEnv = %v", err)
			}
			got := tcfg.(envConfig)
			if got.cfg != tc.want || got.threads != tc.threads {
				t.Errorf("FromEnv = %+v threads %d, want %+v threads %d", got.cfg.LogValue(), got.threads, tc.want.LogValue(), tc.threads)
			}
			if s := tcfg.LogValue().String(); strings.Contains(s, "s1") && tc.want.SecretAccessKey == "s1" {
				t.Errorf("LogValue() = %s shows the secret key", s)
			}
		})
	}
}

// TestFromEnv_consume_file reads LISTEN_INTERVAL and VISIBILITY_TIMEOUT from
// the CONSUME_CONFIG_FILE_PATH file, naming the file in errors.
func TestFromEnv_consume_file(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) {
		if err := os.WriteFile(filepath.Join(dir, "consume.env"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("EXIT_WHEN_FINISHED=1\nLISTEN_INTERVAL=5\nVISIBILITY_TIMEOUT=120\n")
	tcfg, err := FromEnv(loadEnv(t, dir, "AWS_REGION=eu-west-1", "CONSUME_CONFIG_FILE_PATH=consume.env"))
	if err != nil {
		t.Fatal(err)
	}
	if c := tcfg.(envConfig).cfg; c.WaitTime != 5*time.Second || c.VisibilityTimeout != 2*time.Minute {
		t.Errorf("FromEnv = %+v, want a 5s wait and a 2m visibility timeout", c.LogValue())
	}
	// 0 short-polls (WaitTimeSeconds 0), as SQS defines it; sub-second
	// waits are rounded up to whole seconds.
	for content, want := range map[string]int32{"LISTEN_INTERVAL=0\n": 0, "LISTEN_INTERVAL=0.5\n": 1, "LISTEN_INTERVAL=1500ms\n": 2, "LISTEN_INTERVAL=20\n": 20, "\n": 20} {
		write(content)
		tcfg, err := FromEnv(loadEnv(t, dir, "AWS_REGION=eu-west-1", "CONSUME_CONFIG_FILE_PATH=consume.env"))
		if err != nil {
			t.Fatal(err)
		}
		if got := waitSeconds(tcfg.(envConfig).cfg.WaitTime); got != want {
			t.Errorf("consume file %q: WaitTimeSeconds %d, want %d", content, got, want)
		}
	}
	for content, want := range map[string]string{
		"LISTEN_INTERVAL=30\n":       `invalid LISTEN_INTERVAL="30" in consume.env: want a long-polling wait of 0 to 20 seconds`,
		"LISTEN_INTERVAL=-1\n":       `invalid LISTEN_INTERVAL="-1" in consume.env: want a duration`,
		"VISIBILITY_TIMEOUT=50000\n": `invalid VISIBILITY_TIMEOUT="50000" in consume.env: want 0 to 43200 seconds (12 hours)`,
		"VISIBILITY_TIMEOUT=x\n":     `invalid VISIBILITY_TIMEOUT="x" in consume.env: want a duration`,
	} {
		write(content)
		_, err := FromEnv(loadEnv(t, dir, "AWS_REGION=eu-west-1", "CONSUME_CONFIG_FILE_PATH=consume.env"))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("consume file %q: FromEnv = %v, want %s", content, err, want)
		}
	}
}

// TestWaitSeconds maps Config.WaitTime to ReceiveMessage's WaitTimeSeconds.
func TestWaitSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int32{
		NoWait: 0, -time.Second: 0, 0: 20, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 20 * time.Second: 20, time.Minute: 20,
	} {
		if got := waitSeconds(d); got != want {
			t.Errorf("waitSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestFromEnv_bad_values(t *testing.T) {
	tests := []struct {
		env, want string
	}{
		{"AWS_REGION=Europe", `invalid AWS_REGION="Europe": want an AWS region such as us-east-1`},
		{"AWS_ACCESS_KEY_ID=AKIA", `missing AWS_SECRET_ACCESS_KEY: want the secret key of AWS_ACCESS_KEY_ID`},
		{"AWS_SECRET_ACCESS_KEY=s3cret", `missing AWS_ACCESS_KEY_ID: want the access key id`},
		{"AWS_ENDPOINT_URL=127.0.0.1:4566", `invalid AWS_ENDPOINT_URL="127.0.0.1:4566": want an http or https URL`},
		{"AWS_ENDPOINT_URL_SQS=ftp://x", `invalid AWS_ENDPOINT_URL_SQS="ftp://x": want an http or https URL`},
		{"SQS_NUM_THREADS=0", `invalid SQS_NUM_THREADS="0": want a whole number of messages processed at once, 1-1024`},
		{"ReportServiceProcessor_QUEUE_NAME=my.reports", `invalid ReportServiceProcessor_QUEUE_NAME="my.reports": want an SQS queue name`},
		{"ReportServiceProcessor_QUEUE_NAME=a:b", `invalid ReportServiceProcessor_QUEUE_NAME="a:b": want an SQS queue name`},
		{"ReportServiceProcessor_QUEUE_NAME=has space", `invalid ReportServiceProcessor_QUEUE_NAME="has space": want an SQS queue name`},
		{"ReportServiceProcessor_QUEUE_NAME=" + strings.Repeat("q", 77), `invalid ReportServiceProcessor_QUEUE_NAME="` + strings.Repeat("q", 77) + `": want an SQS queue name`},
		{"ReportServiceProcessor_QUEUE_NAME=" + strings.Repeat("q", 72) + ".fifo", `invalid ReportServiceProcessor_QUEUE_NAME="` + strings.Repeat("q", 72) + `.fifo": want an SQS queue name`},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			_, err := FromEnv(loadEnv(t, "", tc.env))
			var ce *config.Error
			if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("FromEnv(%s) = %v, want a *config.Error starting %s", tc.env, err, tc.want)
			}
		})
	}
	for _, ok := range []string{strings.Repeat("q", 76), strings.Repeat("q", 71) + ".fifo", "orders-eu_1"} {
		if _, err := FromEnv(loadEnv(t, "", "ReportServiceProcessor_QUEUE_NAME="+ok)); err != nil {
			t.Errorf("FromEnv(queue %q) = %v, want it accepted", ok, err)
		}
	}
}

// TestFromEnv_opens_a_working_transport builds a working transport from a
// service's environment.
func TestFromEnv_opens_a_working_transport(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "consume.env"), []byte("LISTEN_INTERVAL=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tcfg, err := FromEnv(loadEnv(t, dir, "AWS_REGION=us-east-1", "CONSUME_CONFIG_FILE_PATH=consume.env",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_ENDPOINT_URL_SQS="+testEndpoint(t)))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tcfg.Open(testCtx(t), nil)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	defer tr.Close()
	q := transporttest.QueueName(t)
	if err := tr.Publish(testCtx(t), q, &rococo.Message{Body: []byte(`{"via":"FromEnv"}`)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	ch, err := tr.Consume(ctx, q, rococo.ConsumeOptions{Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := next(t, ch, "message published through FromEnv's transport")
	if string(d.Message().Body) != `{"via":"FromEnv"}` {
		t.Errorf("Body = %q", d.Message().Body)
	}
	if err := d.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Ready(); err != nil {
		t.Errorf("Ready() = %v", err)
	}
}
