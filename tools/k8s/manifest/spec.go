package manifest

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/rococo-go/rococo/rococo/config"
	"github.com/rococo-go/rococo/rococo/cron"
)

// Spec is what the rule knows of a service, as JSON.
type Spec struct {
	// Service is the service's label, for messages ("//services/x:x").
	Service string `json:"service"`
	// Name is the service name (services/<name>).
	Name string `json:"name"`
	// Version is the service version (a label value).
	Version string `json:"version"`
	// Repository is REGISTRY/PATH of the image; "" means rococo/<name>.
	Repository string `json:"repository"`
	// Env is the environment baked into the image.
	Env map[string]string `json:"env"`
	// Replicas of the Deployment; 0 means 1 (and lets a CRON service run
	// as a CronJob).
	Replicas int32 `json:"replicas,omitempty"`
	// Resources are the container's requests and limits: "requests" and
	// "limits" to a map of cpu, memory or ephemeral-storage to a quantity.
	Resources map[string]map[string]string `json:"resources,omitempty"`
	// PodDisruptionBudget holds one of min_available and max_unavailable,
	// a count or a percentage; empty means none.
	PodDisruptionBudget map[string]string `json:"pod_disruption_budget,omitempty"`
}

// Kubernetes defaults and the runtime's, in one place.
const (
	// DefaultShutdownTimeout is SHUTDOWN_TIMEOUT's default in the runtime.
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultHealthPort is HEALTH_PORT's default in the runtime.
	DefaultHealthPort = 8080
	// GraceMargin is what terminationGracePeriodSeconds adds to
	// SHUTDOWN_TIMEOUT: after the drain the runtime waits up to 5 s for
	// cancelled work (the router's grace), shuts the health server down
	// (up to 5 s) and closes the transport and the error reporter; 15 s
	// covers that with room, so the kubelet's SIGKILL never cuts a drain
	// the runtime was still allowed to finish.
	GraceMargin = 15 * time.Second
	// SQSLongPoll is the longest SQS long poll (LISTEN_INTERVAL's default
	// and maximum, 20 s). On SIGTERM an SQS consumer lets the receive in
	// flight end rather than abort it (SQS may already have taken messages
	// for it, which would then stay invisible for the visibility timeout),
	// so its shutdown can take that much longer: terminationGracePeriodSeconds
	// of a MESSAGING service on MESSAGING_TYPE=SqsConnection adds it.
	SQSLongPoll = 20 * time.Second
	// PreStopSleep delays SIGTERM of a BAND pod so that its endpoints are
	// removed from the Service before the handlers stop taking requests.
	PreStopSleep = 5 * time.Second
)

// grace is the pod's terminationGracePeriodSeconds: SHUTDOWN_TIMEOUT plus
// GraceMargin, plus SQSLongPoll for an SQS consumer and PreStopSleep for a
// BAND pod.
func (s *service) grace() time.Duration {
	g := s.shutdown + GraceMargin
	if s.sqsPoll {
		g += SQSLongPoll
	}
	if s.execution == config.Band {
		g += PreStopSleep
	}
	return g
}

// service is a Spec read and checked: what the manifests need.
type service struct {
	Spec
	k8sName    string
	execution  string
	cron       cron.Spec
	tz         string
	healthPort int // 0: no HTTP port
	shutdown   time.Duration
	rabbitMQ   bool // MESSAGING_TYPE=RabbitMqConnection: a lock for leader election
	sqsPoll    bool // a MESSAGING service on MESSAGING_TYPE=SqsConnection: Close waits for a long poll
	requests   map[string]resource.Quantity
	limits     map[string]resource.Quantity
	pdbKey     string
	pdbValue   string
}

// read checks spec and reads the environment with the runtime's own
// parsers (rococo/config, rococo/cron). Errors name the service and the
// fix.
func read(spec Spec) (*service, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("service %s: "+format, append([]any{spec.Service}, args...)...)
	}
	s := &service{Spec: spec, k8sName: strings.ReplaceAll(strings.ToLower(spec.Name), "_", "-")}
	if errs := validation.IsDNS1123Label(s.k8sName); len(errs) > 0 || len(s.k8sName) > 52 {
		return nil, bad("the Kubernetes name %q (from the service name) is not a DNS label of at most 52 characters (a CronJob's limit): %s; rename the service", s.k8sName, strings.Join(errs, "; "))
	}
	env := config.EnvMap(spec.Env)
	s.execution = env.String("EXECUTION_TYPE", config.Messaging)
	var err error
	if s.shutdown, err = env.Duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout); err != nil {
		return nil, bad("%v", err)
	}
	if s.healthPort, err = env.IntRange("HEALTH_PORT", DefaultHealthPort, 0, 65535, "a port number 0-65535"); err != nil {
		return nil, bad("%v", err)
	}
	if addr := env.Get("HEALTH_ADDR"); addr != "" {
		host, port, err := net.SplitHostPort(addr)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || (host != "" && host != "0.0.0.0" && host != "::") {
			return nil, bad("HEALTH_ADDR=%q listens where the kubelet's probes cannot reach; remove it from env (HEALTH_PORT listens on every interface)", addr)
		}
		s.healthPort = n
	}
	s.rabbitMQ = env.Get("MESSAGING_TYPE") == config.RabbitMQ
	s.sqsPoll = s.execution == config.Messaging && env.Get("MESSAGING_TYPE") == config.SQS
	s.tz = env.Get("TZ")
	if s.execution == config.Cron {
		if exprs := env.Get("CRON_EXPRESSIONS"); exprs != "" {
			if s.cron.Expressions, err = cron.ParseExpressions(exprs); err != nil {
				return nil, bad("%v", err)
			}
		} else if s.cron, err = cron.ParseInterval(env.Get("CRON_TIME_AMOUNT"), env.Get("CRON_TIME_UNIT"), env.Get("CRON_RUN_AT")); err != nil {
			return nil, bad("%v", err)
		}
		s.cron.RunAtStartup, _ = config.ParseBool(env.Get("RUN_AT_STARTUP"))
	}
	if s.Replicas < 0 {
		return nil, bad("replicas = %d; want 1 or more", s.Replicas)
	}
	s.requests, s.limits = map[string]resource.Quantity{}, map[string]resource.Quantity{}
	for kind, rs := range spec.Resources {
		var into map[string]resource.Quantity
		switch kind {
		case "requests":
			into = s.requests
		case "limits":
			into = s.limits
		default:
			return nil, bad("resources: %q is neither requests nor limits", kind)
		}
		for r, q := range rs {
			switch r {
			case "cpu", "memory", "ephemeral-storage":
			default:
				return nil, bad("resources %s: %q is not cpu, memory or ephemeral-storage", kind, r)
			}
			v, err := resource.ParseQuantity(q)
			if err != nil {
				return nil, bad("resources %s %s = %q: %v", kind, r, q, err)
			}
			into[r] = v
		}
	}
	for k, v := range spec.PodDisruptionBudget {
		if (k != "min_available" && k != "max_unavailable") || s.pdbKey != "" {
			return nil, bad("pod_disruption_budget needs exactly one of min_available or max_unavailable, got %v", spec.PodDisruptionBudget)
		}
		s.pdbKey, s.pdbValue = k, v
	}
	return s, nil
}
