package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runMainEnv makes the test binary run the service's main instead of the
// tests, so a test can run the real service as a child process.
const runMainEnv = "EMAIL_RABBITMQ_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0) // main exits itself; not reached
	}
	os.Exit(m.Run())
}

// TestInvalidServiceSettingExits2: the service's own setting, read through
// common/appconfig in Init, stops the service with exit status 2 and one
// line on stderr naming the variable, as the runtime's own variables do. No
// broker is needed: Init runs before anything connects.
func TestInvalidServiceSettingExits2(t *testing.T) {
	tests := []struct{ name, env, want string }{
		{"not a duration", "EMAIL_SEND_DELAY=abc", `invalid EMAIL_SEND_DELAY="abc": want a duration`},
		{"negative duration", "EMAIL_SEND_DELAY=-5s", `invalid EMAIL_SEND_DELAY="-5s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Dir = t.TempDir()
			cmd.Env = []string{
				runMainEnv + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir,
				"PROCESSOR_TYPE=EmailServiceProcessor", "MESSAGING_TYPE=RabbitMqConnection",
				"EmailServiceProcessor_QUEUE_NAME=emails", "RABBITMQ_HOST=127.0.0.1",
				"HEALTH_PORT=0", tt.env,
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("service still running after 30 s with %s", tt.env)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit = %v, want status 2; stderr:\n%s", err, stderr.String())
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if !strings.HasPrefix(l, "time=") && !strings.HasPrefix(l, "{") {
					lines = append(lines, l)
				}
			}
			if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], tt.want) {
				t.Errorf("stderr's last line = %q, want it to start with %q; stderr:\n%s", lines, tt.want, stderr.String())
			}
		})
	}
}
