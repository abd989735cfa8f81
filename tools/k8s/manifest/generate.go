package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/rococo-go/rococo/rococo/config"
)

// The image's fixed identity (tools/imagebuilder/ociimage): the nonroot user.
const (
	nonRootUID = 65532
	nonRootGID = 65532
)

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Generate returns the manifests of spec's service as YAML documents, the
// image pinned to digest (the image index digest, sha256:...). A header of
// comments says how to apply them and what was decided for this service.
func Generate(spec Spec, digest string) ([]byte, error) {
	s, err := read(spec)
	if err != nil {
		return nil, err
	}
	if !digestRE.MatchString(digest) {
		return nil, fmt.Errorf("service %s: image digest %q is not sha256:<64 hex digits>", spec.Service, digest)
	}
	repo := spec.Repository
	var notes []string
	if repo == "" {
		repo = "rococo/" + spec.Name
		notes = append(notes, fmt.Sprintf("The repository attribute is not set: the image is named %s. Set repository (where :push pushes) so the cluster can pull it.", repo))
	}
	g := &gen{s: s, image: repo + "@" + digest}
	objs, more, err := g.objects()
	if err != nil {
		return nil, err
	}
	notes = append(notes, more...)

	var out bytes.Buffer
	fmt.Fprintf(&out, "# Kubernetes manifests of %s (%s %s), written by rococo_service's :k8s target.\n", spec.Service, spec.Name, spec.Version)
	fmt.Fprintf(&out, "# Apply them with: kubectl apply -f k8s.yaml [-n NAMESPACE]\n")
	fmt.Fprintf(&out, "# The image's environment is baked into the image and not repeated here; give secrets and per-cluster\n")
	fmt.Fprintf(&out, "# settings through the optional Secret %s-env, e.g.\n", s.k8sName)
	fmt.Fprintf(&out, "#   kubectl create secret generic %s-env --from-env-file=%s.env\n", s.k8sName, s.k8sName)
	fmt.Fprintf(&out, "# terminationGracePeriodSeconds is SHUTDOWN_TIMEOUT (%v) plus %v for the runtime's own shutdown after the drain", s.shutdown, GraceMargin)
	if s.sqsPoll {
		fmt.Fprintf(&out, ",\n# plus %v for the SQS long poll in flight at SIGTERM, which the transport lets end (LISTEN_INTERVAL, at most %v)", SQSLongPoll, SQSLongPoll)
	}
	if s.execution == config.Band {
		fmt.Fprintf(&out, ",\n# plus the %v preStop sleep that lets the Service stop routing to the pod first", PreStopSleep)
	}
	fmt.Fprintf(&out, ".\n")
	for _, n := range notes {
		for i, l := range wrap("Note: "+n, 100) {
			if i > 0 {
				l = "  " + l
			}
			fmt.Fprintf(&out, "# %s\n", l)
		}
	}
	for _, o := range objs {
		b, err := marshal(o)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", spec.Service, err)
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out.Bytes(), nil
}

type gen struct {
	s     *service
	image string
}

func (g *gen) objects() ([]any, []string, error) {
	s := g.s
	var notes []string
	switch s.execution {
	case config.Messaging, config.Band:
		objs := []any{g.deployment(max(s.Replicas, 1), appsv1.RollingUpdateDeploymentStrategyType, nil)}
		if s.execution == config.Band {
			if s.healthPort == 0 {
				return nil, nil, fmt.Errorf("service %s: a BAND service serves its handlers on its HTTP port, and HEALTH_PORT is 0; remove HEALTH_PORT from env", s.Service)
			}
			objs = append(objs, g.httpService())
		}
		if pdb := g.pdb(); pdb != nil {
			objs = append(objs, pdb)
		}
		return objs, notes, nil
	case config.Cron:
		return g.cronObjects()
	}
	return nil, nil, fmt.Errorf("service %s: EXECUTION_TYPE=%q has no Kubernetes form; want MESSAGING, CRON or BAND", s.Service, s.execution)
}

// cronObjects: a CronJob when the schedule has a crontab and one replica is
// asked for, else a Deployment.
func (g *gen) cronObjects() ([]any, []string, error) {
	s := g.s
	var notes []string
	if s.cron.RunAtStartup {
		notes = append(notes, "RUN_AT_STARTUP=true runs once when a process starts: in a CronJob each run is its own process (--once), so it adds no run; in a Deployment the leader runs once when it takes the lead.")
	}
	if s.Replicas > 1 {
		if !s.rabbitMQ {
			return nil, nil, fmt.Errorf("service %s: replicas = %d for a CRON service without a lock: every replica would run every schedule; set messaging_type = \"RabbitMqConnection\" (its replicas elect a leader through an exclusive queue) or replicas = 1", s.Service, s.Replicas)
		}
		notes = append(notes, fmt.Sprintf("%d replicas elect a leader through an exclusive RabbitMQ queue: one runs the schedule, the others stand by and take over when it dies (CRON_LEADER_ELECTION=required: a replica without the broker's lock refuses to start).", s.Replicas))
		objs := []any{g.deployment(s.Replicas, appsv1.RollingUpdateDeploymentStrategyType, []corev1.EnvVar{{Name: "CRON_LEADER_ELECTION", Value: "required"}})}
		if pdb := g.pdb(); pdb != nil {
			objs = append(objs, pdb)
		}
		return objs, notes, nil
	}
	schedule, tz, why, ok := s.crontab()
	if ok {
		if s.pdbKey != "" {
			return nil, nil, fmt.Errorf("service %s: pod_disruption_budget applies to a Deployment, and this CRON service runs as a CronJob (%s); remove pod_disruption_budget", s.Service, schedule)
		}
		notes = append(notes, "CronJob: "+why+"; concurrencyPolicy Forbid keeps runs from overlapping, as the runtime does.")
		return []any{g.cronJob(schedule, tz)}, notes, nil
	}
	// One replica: a rolling update would run two for a moment, so the old
	// one goes first (Recreate), unless the replicas elect a leader.
	strategy := appsv1.RecreateDeploymentStrategyType
	lock := "Recreate replaces it on updates, so two never run at once"
	if s.rabbitMQ {
		strategy = appsv1.RollingUpdateDeploymentStrategyType
		lock = "a rolling update's new pod stands by until the old one leaves (leader election through RabbitMQ)"
	}
	notes = append(notes, fmt.Sprintf("a single-replica Deployment runs the schedule, because %s; %s. Do not scale it up without leader election (set replicas and messaging_type = \"RabbitMqConnection\").", why, lock))
	objs := []any{g.deployment(1, strategy, nil)}
	if pdb := g.pdb(); pdb != nil {
		objs = append(objs, pdb)
	}
	return objs, notes, nil
}

func (g *gen) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: g.labels(true)}
}

// labels are the recommended app.kubernetes.io labels; the selector uses
// the name only (a selector cannot change, a version does).
func (g *gen) labels(withVersion bool) map[string]string {
	l := map[string]string{"app.kubernetes.io/name": g.s.k8sName}
	if withVersion && g.s.Version != "" {
		l["app.kubernetes.io/version"] = labelValue(g.s.Version)
	}
	return l
}

var labelUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func labelValue(v string) string {
	v = labelUnsafe.ReplaceAllString(v, "_")
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.Trim(v, "_.-")
}

func (g *gen) deployment(replicas int32, strategy appsv1.DeploymentStrategyType, env []corev1.EnvVar) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: g.meta(g.s.k8sName),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: g.labels(false)},
			Strategy: appsv1.DeploymentStrategy{Type: strategy},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: g.labels(true)},
				Spec:       g.podSpec(nil, corev1.RestartPolicyAlways, true, env),
			},
		},
	}
}

func (g *gen) cronJob(schedule, tz string) *batchv1.CronJob {
	backoff, history, failed := int32(0), int32(3), int32(3)
	deadline := int64(300)
	cj := &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: g.meta(g.s.k8sName),
		Spec: batchv1.CronJobSpec{
			Schedule:                   schedule,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    &deadline,
			SuccessfulJobsHistoryLimit: &history,
			FailedJobsHistoryLimit:     &failed,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: g.labels(true)},
				Spec: batchv1.JobSpec{
					// A failed run is logged and reported by the runtime;
					// the next schedule is the retry, as in the runtime.
					BackoffLimit: &backoff,
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: g.labels(true)},
						Spec:       g.podSpec([]string{"--once"}, corev1.RestartPolicyNever, false, nil),
					},
				},
			},
		},
	}
	if tz != "" {
		cj.Spec.TimeZone = &tz
	}
	return cj
}

// podSpec is every pod's: the image's non-root user, a read-only root file
// system with an emptyDir on /tmp, no capabilities, the probes (readiness
// for long-running pods only), the optional env Secret.
func (g *gen) podSpec(args []string, restart corev1.RestartPolicy, readiness bool, env []corev1.EnvVar) corev1.PodSpec {
	s := g.s
	grace := int64(math.Ceil(s.grace().Seconds()))
	yes, no := true, false
	uid, gid := int64(nonRootUID), int64(nonRootGID)
	optional := true
	c := corev1.Container{
		Name:            s.k8sName,
		Image:           g.image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Args:            args,
		Env:             env,
		EnvFrom:         []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: s.k8sName + "-env"}, Optional: &optional}}},
		Resources:       g.resources(),
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             &yes,
			RunAsUser:                &uid,
			RunAsGroup:               &gid,
			ReadOnlyRootFilesystem:   &yes,
			AllowPrivilegeEscalation: &no,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
	}
	if s.healthPort != 0 {
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: int32(s.healthPort), Protocol: corev1.ProtocolTCP}}
		c.LivenessProbe = probe("/healthz", 10, 3)
		if readiness {
			c.ReadinessProbe = probe("/readyz", 5, 2)
		}
	}
	if s.execution == config.Band {
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: int64(PreStopSleep / time.Second)}}}
	}
	return corev1.PodSpec{
		RestartPolicy:                 restart,
		TerminationGracePeriodSeconds: &grace,
		AutomountServiceAccountToken:  &no,
		EnableServiceLinks:            &no,
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   &yes,
			RunAsUser:      &uid,
			RunAsGroup:     &gid,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{c},
		Volumes:    []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
}

func probe(path string, period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
		PeriodSeconds:    period,
		TimeoutSeconds:   2,
		FailureThreshold: failures,
	}
}

func (g *gen) resources() corev1.ResourceRequirements {
	var r corev1.ResourceRequirements
	if len(g.s.requests) > 0 {
		r.Requests = corev1.ResourceList{}
		for k, v := range g.s.requests {
			r.Requests[corev1.ResourceName(k)] = v
		}
	}
	if len(g.s.limits) > 0 {
		r.Limits = corev1.ResourceList{}
		for k, v := range g.s.limits {
			r.Limits[corev1.ResourceName(k)] = v
		}
	}
	return r
}

// httpService routes to a BAND service's handlers on its HTTP port.
func (g *gen) httpService() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: g.meta(g.s.k8sName),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: g.labels(false),
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

func (g *gen) pdb() *policyv1.PodDisruptionBudget {
	if g.s.pdbKey == "" {
		return nil
	}
	v := intstr.Parse(g.s.pdbValue)
	p := &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: g.meta(g.s.k8sName),
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: g.labels(false)}},
	}
	if g.s.pdbKey == "min_available" {
		p.Spec.MinAvailable = &v
	} else {
		p.Spec.MaxUnavailable = &v
	}
	return p
}

// marshal writes o as YAML without the empty fields the API types always
// carry (creationTimestamp: null, status: {}), in sorted key order.
func marshal(o any) ([]byte, error) {
	j, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status") // what the cluster reports, not what is applied
	prune(m)
	return yaml.Marshal(m)
}

// wrap breaks s into lines of at most width runes at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

// prune removes null creationTimestamps and empty status, resources and
// strategy maps, recursively (the API types carry them as zero values).
func prune(v any) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := t[k]
			if child == nil && k == "creationTimestamp" {
				delete(t, k)
				continue
			}
			prune(child)
			if cm, ok := child.(map[string]any); ok && len(cm) == 0 && (k == "status" || k == "resources" || k == "strategy") {
				delete(t, k)
			}
		}
	case []any:
		for _, c := range t {
			prune(c)
		}
	}
}
