package manifest

import (
	"fmt"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rococo-go/rococo/rococo/config"
)

// Verify decodes manifests strictly and checks them against the service's
// spec and image digest: the workload's kind for the execution type, the
// image pinned by digest, the non-root, read-only, capability-free pod with
// an emptyDir on /tmp, the probes on the HTTP port, a grace period above
// SHUTDOWN_TIMEOUT, no baked variable repeated, replicas, resources, the
// Service of a BAND service and the disruption budget. It returns one error
// per problem, each naming the service.
func Verify(data []byte, spec Spec, digest string) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("service %s: "+format, append([]any{spec.Service}, args...)...))
	}
	s, err := read(spec)
	if err != nil {
		return []error{err}
	}
	objs, err := Decode(data)
	if err != nil {
		bad("decode manifests: %v", err)
		return errs
	}
	repo := spec.Repository
	if repo == "" {
		repo = "rococo/" + spec.Name
	}
	image := repo + "@" + digest

	var pod *corev1.PodTemplateSpec
	var longRunning bool
	switch {
	case len(objs.Deployments)+len(objs.CronJobs) != 1:
		bad("want one workload, got %d Deployments and %d CronJobs", len(objs.Deployments), len(objs.CronJobs))
		return errs
	case len(objs.Deployments) == 1:
		d := objs.Deployments[0]
		pod, longRunning = &d.Spec.Template, true
		want := max(s.Replicas, 1)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
			bad("Deployment replicas = %v, want %d", ptrString(d.Spec.Replicas), want)
		}
		checkSelector(bad, "Deployment", d.Spec.Selector, pod.Labels)
		if s.execution == config.Cron {
			verifyCronDeployment(bad, s, d)
		}
	default:
		c := objs.CronJobs[0]
		pod = &c.Spec.JobTemplate.Spec.Template
		if s.execution != config.Cron {
			bad("a CronJob for EXECUTION_TYPE=%s, want a Deployment", s.execution)
		}
		if s.Replicas > 1 {
			bad("a CronJob for replicas = %d, want a Deployment whose replicas elect a leader", s.Replicas)
		}
		if c.Spec.Schedule == "" || c.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			bad("CronJob schedule %q, concurrencyPolicy %q; want a schedule and Forbid (runs never overlap)", c.Spec.Schedule, c.Spec.ConcurrencyPolicy)
		}
		if len(pod.Spec.Containers) == 1 && !reflect.DeepEqual(pod.Spec.Containers[0].Args, []string{"--once"}) {
			bad("CronJob container args = %q, want [--once]", pod.Spec.Containers[0].Args)
		}
		if pod.Spec.RestartPolicy != corev1.RestartPolicyNever && pod.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
			bad("CronJob pod restartPolicy = %q, want Never or OnFailure", pod.Spec.RestartPolicy)
		}
	}
	verifyPod(bad, s, pod, image, longRunning)

	wantServices := 0
	if s.execution == config.Band {
		wantServices = 1
	}
	if len(objs.Services) != wantServices {
		bad("%d Services, want %d (a BAND service's handlers get one)", len(objs.Services), wantServices)
	}
	for _, svc := range objs.Services {
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
			bad("Service ports = %+v, want one port to the container's http port", svc.Spec.Ports)
		}
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(svc.Spec.Selector) == 0 {
			bad("Service selector %v does not select the pods %v", svc.Spec.Selector, pod.Labels)
		}
	}
	wantPDBs := 0
	if s.pdbKey != "" {
		wantPDBs = 1
	}
	if len(objs.PDBs) != wantPDBs {
		bad("%d PodDisruptionBudgets, want %d", len(objs.PDBs), wantPDBs)
	}
	for _, p := range objs.PDBs {
		checkSelector(bad, "PodDisruptionBudget", p.Spec.Selector, pod.Labels)
		got := p.Spec.MaxUnavailable
		if s.pdbKey == "min_available" {
			got = p.Spec.MinAvailable
		}
		if got == nil || got.String() != s.pdbValue {
			bad("PodDisruptionBudget %s = %v, want %s", s.pdbKey, got, s.pdbValue)
		}
	}
	return errs
}

func checkSelector(bad func(string, ...any), what string, sel *metav1.LabelSelector, podLabels map[string]string) {
	ls, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || sel == nil || ls.Empty() || !ls.Matches(labels.Set(podLabels)) {
		bad("%s selector %v does not select its pods %v", what, sel, podLabels)
	}
}

// verifyCronDeployment: a CRON service in a Deployment runs one replica, or
// several that must elect a leader.
func verifyCronDeployment(bad func(string, ...any), s *service, d *appsv1.Deployment) {
	env := map[string]string{}
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
	}
	if s.Replicas > 1 {
		if !s.rabbitMQ || env["CRON_LEADER_ELECTION"] != "required" {
			bad("a CRON Deployment of %d replicas without CRON_LEADER_ELECTION=required and RabbitMQ: each replica would run every schedule", s.Replicas)
		}
		return
	}
	if !s.rabbitMQ && d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		bad("a single CRON replica without leader election updates with strategy %q; want Recreate, so two never run at once", d.Spec.Strategy.Type)
	}
}

func verifyPod(bad func(string, ...any), s *service, pod *corev1.PodTemplateSpec, image string, longRunning bool) {
	ps := pod.Spec
	if len(ps.Containers) != 1 {
		bad("%d containers, want 1", len(ps.Containers))
		return
	}
	c := ps.Containers[0]
	if c.Image != image {
		bad("image = %q, want %q (pinned by the image index digest)", c.Image, image)
	}
	psc, sc := ps.SecurityContext, c.SecurityContext
	if psc == nil || !isTrue(psc.RunAsNonRoot) || sc == nil || !isTrue(sc.RunAsNonRoot) {
		bad("runAsNonRoot is not true for the pod and the container")
	}
	if sc == nil || !isTrue(sc.ReadOnlyRootFilesystem) {
		bad("readOnlyRootFilesystem is not true")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		bad("allowPrivilegeEscalation is not false")
	}
	if sc == nil || sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		bad("capabilities are not drop [ALL] with none added")
	}
	tmp := ""
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/tmp" {
			tmp = m.Name
		}
	}
	found := false
	for _, v := range ps.Volumes {
		if v.Name == tmp && v.EmptyDir != nil {
			found = true
		}
	}
	if !found {
		bad("/tmp is not an emptyDir volume (the root file system is read-only)")
	}
	wantGrace := s.shutdown
	if s.execution == config.Band {
		wantGrace += PreStopSleep
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
			bad("a BAND pod has no preStop sleep: the Service would route to it after SIGTERM")
		}
	}
	what := "SHUTDOWN_TIMEOUT"
	if s.sqsPoll {
		wantGrace += SQSLongPoll
		what += " plus the longest SQS long poll"
	}
	if s.execution == config.Band {
		what += " plus the preStop sleep"
	}
	if ps.TerminationGracePeriodSeconds == nil || time.Duration(*ps.TerminationGracePeriodSeconds)*time.Second <= wantGrace {
		bad("terminationGracePeriodSeconds = %v, want above %v (%s)", ptrString(ps.TerminationGracePeriodSeconds), wantGrace, what)
	}
	if !isFalse(ps.AutomountServiceAccountToken) {
		bad("automountServiceAccountToken is not false (the service needs no API access)")
	}
	for _, e := range c.Env {
		if _, baked := s.Env[e.Name]; baked {
			bad("env %s is baked into the image and repeated in the manifest", e.Name)
		}
	}
	if !sameQuantities(c.Resources.Requests, s.requests) || !sameQuantities(c.Resources.Limits, s.limits) {
		bad("resources = requests %v limits %v, want requests %v limits %v", c.Resources.Requests, c.Resources.Limits, s.requests, s.limits)
	}
	if s.healthPort == 0 {
		if c.LivenessProbe != nil || c.ReadinessProbe != nil {
			bad("probes without an HTTP port (HEALTH_PORT=0)")
		}
		return
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || int(c.Ports[0].ContainerPort) != s.healthPort {
		bad("ports = %+v, want http on %d (HEALTH_PORT)", c.Ports, s.healthPort)
	}
	checkProbe(bad, "liveness", c.LivenessProbe, "/healthz")
	if longRunning {
		checkProbe(bad, "readiness", c.ReadinessProbe, "/readyz")
	}
}

func sameQuantities(got corev1.ResourceList, want map[string]resource.Quantity) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		if g, ok := got[corev1.ResourceName(k)]; !ok || g.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func checkProbe(bad func(string, ...any), what string, p *corev1.Probe, path string) {
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
		bad("%s probe = %+v, want GET %s on the http port", what, p, path)
	}
}

func isTrue(b *bool) bool  { return b != nil && *b }
func isFalse(b *bool) bool { return b != nil && !*b }

func ptrString[T int32 | int64](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}
