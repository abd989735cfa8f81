package servicecheck

import "testing"

func TestEnv(t *testing.T) {
	const l, p = "//services/x:x", "services/x"
	cron := func(kv ...string) map[string]string {
		m := map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "P"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"interval", cron("CRON_TIME_AMOUNT", "5", "CRON_TIME_UNIT", "minutes"), ""},
		{"crontab", cron("CRON_EXPRESSIONS", "0 3 * * *"), ""},
		{"messaging without its queue (given at deploy time)", map[string]string{"EXECUTION_TYPE": "MESSAGING", "MESSAGING_TYPE": "RabbitMqConnection", "PROCESSOR_TYPE": "P"}, ""},
		{"band", map[string]string{"EXECUTION_TYPE": "BAND"}, ""},
		{"a date that never comes", cron("CRON_EXPRESSIONS", "0 0 30 2 *"),
			l + `: the service would exit at start with: invalid CRON_EXPRESSIONS="0 0 30 2 *": want `},
		{"an interval below the minimum", cron("CRON_TIME_AMOUNT", "0.0000001", "CRON_TIME_UNIT", "seconds"),
			l + `: the service would exit at start with: invalid CRON_TIME_AMOUNT="0.0000001": want `},
		{"an env value", cron("CRON_TIME_AMOUNT", "5", "CRON_TIME_UNIT", "minutes", "HEALTH_PORT", "http"),
			l + `: the service would exit at start with: invalid HEALTH_PORT="http": want a port number 0-65535 (0 turns the health server off). Fix: correct env["HEALTH_PORT"] in services/x/BUILD.bazel.`},
		{"no schedule", cron(), l + `: the service would exit at start with: missing `},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Env(l, p, tc.env)
			if tc.want == "" {
				if got != "" {
					t.Fatalf("Env = %q, want no problem", got)
				}
				return
			}
			if len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
				t.Fatalf("Env = %q\nwant prefix %q", got, tc.want)
			}
		})
	}
}
