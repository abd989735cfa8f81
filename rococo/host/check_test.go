package host

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestRun_check: --check validates the configuration, the processor and the
// transport's variables, prints one line and exits 0, or exits 2 with the
// first problem; PROCESSOR_TYPE is checked before the variables named after
// it.
func TestRun_check(t *testing.T) {
	procs := []any{&SlowCron{}, &CountingProcessor{}}
	msgEnv := []string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=CountingProcessor", "CountingProcessor_QUEUE_NAME=q"}
	tests := []struct {
		name       string
		env        []string
		dotenv     string // .env in the working directory
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"messaging OK", msgEnv, "", 0,
			"check: ok: svc: configuration OK (EXECUTION_TYPE=MESSAGING, PROCESSOR_TYPE=CountingProcessor, MESSAGING_TYPE=RabbitMqConnection, queue q; nothing connected)\n", ""},
		{"cron OK", cronEnv, "", 0,
			"check: ok: svc: configuration OK (EXECUTION_TYPE=CRON, PROCESSOR_TYPE=SlowCron; nothing connected)\n", ""},
		{"processor typo before its queue variable", []string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=CountingProcesor"}, "", 2, "",
			`invalid PROCESSOR_TYPE="CountingProcesor": want a processor of this service: CountingProcessor, SlowCron` + "\n"},
		{"processor typo in .env", []string{"MESSAGING_TYPE=RabbitMqConnection"}, "PROCESSOR_TYPE=Counting\n", 2, "",
			`invalid PROCESSOR_TYPE="Counting": want a processor of this service: CountingProcessor, SlowCron` + "\n"},
		{"wrong kind before its queue variable", []string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=SlowCron"}, "", 2, "",
			`invalid PROCESSOR_TYPE="SlowCron": want a message processor (Process(ctx, *rococo.Message) error) for EXECUTION_TYPE=MESSAGING, SlowCron is a cron processor; message processors of this service: CountingProcessor, or set EXECUTION_TYPE=CRON` + "\n"},
		{"queue variable after a right processor", []string{"MESSAGING_TYPE=RabbitMqConnection", "PROCESSOR_TYPE=CountingProcessor"}, "", 2, "",
			`missing CountingProcessor_QUEUE_NAME: want the name of the queue to consume (required when EXECUTION_TYPE is MESSAGING; QUEUE_NAME_PREFIX is prepended)` + "\n"},
		{"bad transport variable", append(msgEnv, "RABBITMQ_NUM_THREADS=0"), "", 2, "", ""},
		{"bad schedule", append(cronEnv, "CRON_TIME_AMOUNT=0.0000001"), "", 2, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.dotenv != "" {
				if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(tc.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			o := options{stdout: &stdout, stderr: &stderr, dir: dir}
			code := o.run(context.Background(), []string{"/bin/svc", "--check"}, tc.env, Info{Transports: testInfo().Transports}, procs...)
			if code != tc.wantCode {
				t.Errorf("exit status = %d, want %d; stderr %q", code, tc.wantCode, stderr.String())
			}
			if stdout.String() != tc.wantStdout {
				t.Errorf("stdout = %q\nwant     %q", stdout.String(), tc.wantStdout)
			}
			if tc.wantStderr != "" && stderr.String() != tc.wantStderr {
				t.Errorf("stderr = %q\nwant     %q", stderr.String(), tc.wantStderr)
			}
			if tc.wantCode == 2 && bytes.Count(stderr.Bytes(), []byte("\n")) != 1 {
				t.Errorf("stderr = %q, want one line", stderr.String())
			}
		})
	}
}
