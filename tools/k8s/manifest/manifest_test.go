package manifest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// cases are the services of the golden test: the example services' own
// configurations and each other form the generator has.
var cases = []struct {
	name string
	spec Spec
}{
	{"email_rabbitmq", Spec{Service: "//services/email_rabbitmq:email_rabbitmq", Name: "email_rabbitmq", Version: "1.0.0",
		Repository: "localhost:5000/rococo/email_rabbitmq",
		Env: map[string]string{"EXECUTION_TYPE": "MESSAGING", "MESSAGING_TYPE": "RabbitMqConnection", "PROCESSOR_TYPE": "EmailServiceProcessor",
			"EmailServiceProcessor_QUEUE_NAME": "emails", "RABBITMQ_HOST": "localhost", "RABBITMQ_NUM_THREADS": "8", "APP_ENV": "production"},
		Replicas:            3,
		Resources:           map[string]map[string]string{"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
		PodDisruptionBudget: map[string]string{"max_unavailable": "1"}}},
	{"report_sqs", Spec{Service: "//services/report_sqs:report_sqs", Name: "report_sqs", Version: "1.0.0",
		Env: map[string]string{"EXECUTION_TYPE": "MESSAGING", "MESSAGING_TYPE": "SqsConnection", "PROCESSOR_TYPE": "ReportServiceProcessor",
			"ReportServiceProcessor_QUEUE_NAME": "reports", "SHUTDOWN_TIMEOUT": "2m"}}},
	{"cleanup_cron", Spec{Service: "//services/cleanup_cron:cleanup_cron", Name: "cleanup_cron", Version: "1.0.0",
		Repository: "localhost:5000/rococo/cleanup_cron",
		Env: map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "CleanupProcessor", "CRON_TIME_AMOUNT": "10", "CRON_TIME_UNIT": "minutes",
			"RUN_AT_STARTUP": "true", "HEALTH_PORT": "8080"}}},
	{"cron_expression_tz", Spec{Service: "//services/nightly:nightly", Name: "nightly", Version: "2.1.0", Repository: "ghcr.io/acme/nightly",
		Env: map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "Nightly", "CRON_EXPRESSIONS": "CRON_TZ=Europe/Berlin 30 2 * * mon-fri"}}},
	{"cron_daily_run_at", Spec{Service: "//services/daily:daily", Name: "daily", Version: "1.0.0", Repository: "ghcr.io/acme/daily",
		Env: map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "Daily", "CRON_TIME_AMOUNT": "1", "CRON_TIME_UNIT": "days", "CRON_RUN_AT": "03:30", "TZ": "America/New_York"}}},
	{"cron_seconds", Spec{Service: "//services/poller:poller", Name: "poller", Version: "1.0.0", Repository: "ghcr.io/acme/poller",
		Env: map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "Poller", "CRON_TIME_AMOUNT": "30", "CRON_TIME_UNIT": "seconds"}}},
	{"cron_replicas_leader", Spec{Service: "//services/ticker:ticker", Name: "ticker", Version: "1.0.0", Repository: "ghcr.io/acme/ticker",
		Env: map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "Ticker", "CRON_TIME_AMOUNT": "5", "CRON_TIME_UNIT": "seconds",
			"MESSAGING_TYPE": "RabbitMqConnection", "SHUTDOWN_TIMEOUT": "10s"},
		Replicas: 2, PodDisruptionBudget: map[string]string{"min_available": "1"}}},
	{"band", Spec{Service: "//services/geo:geo", Name: "geo", Version: "0.3.0", Repository: "ghcr.io/acme/geo",
		Env:      map[string]string{"EXECUTION_TYPE": "BAND", "PROCESSOR_TYPE": "Geo", "HEALTH_PORT": "9000"},
		Replicas: 2, Resources: map[string]map[string]string{"requests": {"cpu": "0.25", "memory": "32Mi"}},
		PodDisruptionBudget: map[string]string{"max_unavailable": "50%"}}},
}

// TestGenerate_golden compares each case's manifests with testdata/<case>.yaml
// (go test ./tools/k8s/manifest -update rewrites them) and checks them with
// Verify.
func TestGenerate_golden(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Generate(tc.spec, digest)
			if err != nil {
				t.Fatalf("Generate() = %v", err)
			}
			if errs := Verify(got, tc.spec, digest); len(errs) > 0 {
				t.Errorf("Verify() = %v", errs)
			}
			golden := filepath.Join("testdata", tc.name+".yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Generate() differs from %s (go test -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

func TestGenerate_forms(t *testing.T) {
	get := func(name string) *Objects {
		t.Helper()
		for _, tc := range cases {
			if tc.name == name {
				out, err := Generate(tc.spec, digest)
				if err != nil {
					t.Fatal(err)
				}
				objs, err := Decode(out)
				if err != nil {
					t.Fatal(err)
				}
				return objs
			}
		}
		t.Fatalf("no case %s", name)
		return nil
	}
	tests := []struct {
		name                        string
		deployments, cronJobs, svcs int
		pdbs                        int
		schedule, timeZone          string
		strategy                    appsv1.DeploymentStrategyType
		grace                       int64
	}{
		{"email_rabbitmq", 1, 0, 0, 1, "", "", appsv1.RollingUpdateDeploymentStrategyType, 45},
		{"report_sqs", 1, 0, 0, 0, "", "", appsv1.RollingUpdateDeploymentStrategyType, 155},
		{"cleanup_cron", 0, 1, 0, 0, "*/10 * * * *", "", "", 45},
		{"cron_expression_tz", 0, 1, 0, 0, "30 2 * * mon-fri", "Europe/Berlin", "", 45},
		{"cron_daily_run_at", 0, 1, 0, 0, "30 3 * * *", "America/New_York", "", 45},
		{"cron_seconds", 1, 0, 0, 0, "", "", appsv1.RecreateDeploymentStrategyType, 45},
		{"cron_replicas_leader", 1, 0, 0, 1, "", "", appsv1.RollingUpdateDeploymentStrategyType, 25},
		{"band", 1, 0, 1, 1, "", "", appsv1.RollingUpdateDeploymentStrategyType, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := get(tc.name)
			if len(o.Deployments) != tc.deployments || len(o.CronJobs) != tc.cronJobs || len(o.Services) != tc.svcs || len(o.PDBs) != tc.pdbs {
				t.Fatalf("got %d Deployments, %d CronJobs, %d Services, %d PDBs; want %d, %d, %d, %d",
					len(o.Deployments), len(o.CronJobs), len(o.Services), len(o.PDBs), tc.deployments, tc.cronJobs, tc.svcs, tc.pdbs)
			}
			var grace *int64
			if tc.cronJobs == 1 {
				c := o.CronJobs[0]
				tz := ""
				if c.Spec.TimeZone != nil {
					tz = *c.Spec.TimeZone
				}
				if c.Spec.Schedule != tc.schedule || tz != tc.timeZone {
					t.Errorf("CronJob schedule %q time zone %q, want %q %q", c.Spec.Schedule, tz, tc.schedule, tc.timeZone)
				}
				grace = c.Spec.JobTemplate.Spec.Template.Spec.TerminationGracePeriodSeconds
			} else {
				d := o.Deployments[0]
				if d.Spec.Strategy.Type != tc.strategy {
					t.Errorf("strategy = %q, want %q", d.Spec.Strategy.Type, tc.strategy)
				}
				grace = d.Spec.Template.Spec.TerminationGracePeriodSeconds
			}
			if grace == nil || *grace != tc.grace {
				t.Errorf("terminationGracePeriodSeconds = %v, want %d", grace, tc.grace)
			}
		})
	}
}

func TestCrontab(t *testing.T) {
	tests := []struct {
		amount, unit, runAt string
		want                string // "" when it has none
	}{
		{"1", "minutes", "", "* * * * *"},
		{"15", "minutes", "", "*/15 * * * *"},
		{"0.5", "hours", "", "*/30 * * * *"},
		{"1", "hours", "", "0 * * * *"},
		{"6", "hours", "", "0 */6 * * *"},
		{"1", "days", "", "0 0 * * *"},
		{"1", "weeks", "", "0 0 * * 0"},
		{"1", "days", "23:05:00", "5 23 * * *"},
		{"7", "minutes", "", ""},
		{"5", "hours", "", ""},
		{"2", "days", "", ""},
		{"2", "days", "03:00:00", ""},
		{"1", "days", "03:00:30", ""},
		{"90", "seconds", "", ""},
		{"30", "seconds", "", ""},
	}
	for _, tc := range tests {
		s, err := read(Spec{Name: "x", Env: map[string]string{"EXECUTION_TYPE": "CRON", "CRON_TIME_AMOUNT": tc.amount, "CRON_TIME_UNIT": tc.unit, "CRON_RUN_AT": tc.runAt}})
		if err != nil {
			t.Fatal(err)
		}
		got, _, why, ok := s.crontab()
		if got != tc.want || ok != (tc.want != "") || why == "" {
			t.Errorf("crontab(%s %s at %q) = %q, %v (%s); want %q", tc.amount, tc.unit, tc.runAt, got, ok, why, tc.want)
		}
	}
}

func TestGenerate_refuses(t *testing.T) {
	cron := map[string]string{"EXECUTION_TYPE": "CRON", "PROCESSOR_TYPE": "P", "CRON_TIME_AMOUNT": "10", "CRON_TIME_UNIT": "minutes"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name   string
		spec   Spec
		digest string
		want   string
	}{
		{"replicas without a lock", Spec{Name: "c", Env: cron, Replicas: 2}, digest, `replicas = 2 for a CRON service without a lock: every replica would run every schedule; set messaging_type = "RabbitMqConnection"`},
		{"pdb on a CronJob", Spec{Name: "c", Env: cron, PodDisruptionBudget: map[string]string{"max_unavailable": "1"}}, digest, "pod_disruption_budget applies to a Deployment, and this CRON service runs as a CronJob (*/10 * * * *)"},
		{"band without a port", Spec{Name: "b", Env: map[string]string{"EXECUTION_TYPE": "BAND", "HEALTH_PORT": "0"}}, digest, "a BAND service serves its handlers on its HTTP port, and HEALTH_PORT is 0"},
		{"unknown execution type", Spec{Name: "x", Env: map[string]string{"EXECUTION_TYPE": "BATCH"}}, digest, `EXECUTION_TYPE="BATCH" has no Kubernetes form`},
		{"loopback health address", Spec{Name: "x", Env: map[string]string{"HEALTH_ADDR": "127.0.0.1:8080"}}, digest, "listens where the kubelet's probes cannot reach"},
		{"bad digest", Spec{Name: "x", Env: map[string]string{}}, "latest", `image digest "latest" is not sha256:`},
		{"bad name", Spec{Name: "Has Space", Env: map[string]string{}}, digest, "is not a DNS label"},
		{"bad quantity", Spec{Name: "x", Env: map[string]string{}, Resources: map[string]map[string]string{"limits": {"memory": "lots"}}}, digest, `resources limits memory = "lots"`},
		{"bad schedule", Spec{Name: "x", Env: with(cron, "CRON_TIME_UNIT", "fortnights")}, digest, `invalid CRON_TIME_UNIT="fortnights"`},
		{"bad shutdown timeout", Spec{Name: "x", Env: map[string]string{"SHUTDOWN_TIMEOUT": "soon"}}, digest, `invalid SHUTDOWN_TIMEOUT="soon"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Service = "//services/x:x"
			_, err := Generate(tc.spec, tc.digest)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "service //services/x:x: ") {
				t.Errorf("Generate() = %v, want an error naming the service and containing %q", err, tc.want)
			}
		})
	}
}

// TestDecode_is_strict: a field the official type lacks (a typo, or a
// field of another kind) fails, as does an unknown kind.
func TestDecode_is_strict(t *testing.T) {
	ok, err := Generate(cases[0].spec, digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(ok); err != nil {
		t.Fatalf("Decode(generated) = %v", err)
	}
	tests := []struct {
		name, from, to, want string
	}{
		{"unknown field", "      terminationGracePeriodSeconds:", "      terminationGracePeriodSecond:", `unknown field "terminationGracePeriodSecond"`},
		{"unknown kind", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgett", `unexpected kind "PodDisruptionBudgett"`},
		{"wrong type", "replicas: 3", "replicas: three", "cannot unmarshal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			broken := strings.Replace(string(ok), tc.from, tc.to, 1)
			if broken == string(ok) {
				t.Fatalf("%q not in the manifests", tc.from)
			}
			if _, err := Decode([]byte(broken)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestVerify_reports_each_property edits generated manifests so that each
// checked property breaks, and expects Verify to say so.
func TestVerify_reports_each_property(t *testing.T) {
	spec := cases[0].spec
	ok, err := Generate(spec, digest)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to, want string
	}{
		{"image by tag", "image: localhost:5000/rococo/email_rabbitmq@" + digest, "image: localhost:5000/rococo/email_rabbitmq:latest", "pinned by the image index digest"},
		{"root", "runAsNonRoot: true\n        runAsUser", "runAsNonRoot: false\n        runAsUser", "runAsNonRoot is not true"},
		{"writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem is not true"},
		{"escalation", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation is not false"},
		{"capabilities", "- ALL", "- NET_RAW", "capabilities are not drop [ALL]"},
		{"no tmp", "emptyDir: {}", "hostPath:\n          path: /tmp", "/tmp is not an emptyDir volume"},
		{"short grace", "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds = 30, want above 30s"},
		{"readiness", "path: /readyz", "path: /healthz", "readiness probe"},
		{"liveness", "path: /healthz", "path: /status", "liveness probe"},
		{"replicas", "replicas: 3", "replicas: 1", "Deployment replicas = 1, want 3"},
		{"resources", "memory: 128Mi", "memory: 256Mi", "resources = "},
		{"pdb", "maxUnavailable: 1", "maxUnavailable: 2", "PodDisruptionBudget max_unavailable = 2, want 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			broken := strings.Replace(string(ok), tc.from, tc.to, 1)
			if broken == string(ok) {
				t.Fatalf("%q not in the manifests:\n%s", tc.from, ok)
			}
			errs := Verify([]byte(broken), spec, digest)
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			if joined := strings.Join(msgs, "\n"); !strings.Contains(joined, tc.want) {
				t.Errorf("Verify() = %q, want a problem containing %q", joined, tc.want)
			}
		})
	}
	// An SQS consumer's grace period covers the long poll in flight at
	// SIGTERM on top of SHUTDOWN_TIMEOUT and the margin.
	t.Run("sqs grace without the long poll", func(t *testing.T) {
		spec := Spec{Service: "//services/r:r", Name: "r", Version: "1.0.0", Repository: "ghcr.io/acme/r",
			Env: map[string]string{"EXECUTION_TYPE": "MESSAGING", "MESSAGING_TYPE": "SqsConnection", "PROCESSOR_TYPE": "P", "SHUTDOWN_TIMEOUT": "2s"}}
		ok, err := Generate(spec, digest)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(ok), "terminationGracePeriodSeconds: 37\n") {
			t.Fatalf("SHUTDOWN_TIMEOUT=2s on SQS: want terminationGracePeriodSeconds 37 (2 s + 15 s + the 20 s long poll):\n%s", ok)
		}
		if errs := Verify(ok, spec, digest); len(errs) > 0 {
			t.Errorf("Verify() = %v", errs)
		}
		broken := strings.Replace(string(ok), "terminationGracePeriodSeconds: 37", "terminationGracePeriodSeconds: 17", 1)
		errs := Verify([]byte(broken), spec, digest)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "terminationGracePeriodSeconds = 17, want above 22s (SHUTDOWN_TIMEOUT plus the longest SQS long poll)") {
			t.Errorf("Verify(17 s on SQS) = %v", errs)
		}
	})
	// A baked variable repeated in the manifest.
	broken := strings.Replace(string(ok), "      - envFrom:", "      - env:\n        - name: RABBITMQ_NUM_THREADS\n          value: \"2\"\n        envFrom:", 1)
	if errs := Verify([]byte(broken), spec, digest); len(errs) != 1 || !strings.Contains(errs[0].Error(), "env RABBITMQ_NUM_THREADS is baked into the image and repeated") {
		t.Errorf("Verify(baked env repeated) = %v", errs)
	}
}
