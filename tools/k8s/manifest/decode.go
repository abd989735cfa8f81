package manifest

import (
	"bytes"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Objects are manifests decoded into the k8s.io/api types, by kind.
type Objects struct {
	Deployments []*appsv1.Deployment
	CronJobs    []*batchv1.CronJob
	Services    []*corev1.Service
	PDBs        []*policyv1.PodDisruptionBudget
}

// Decode reads YAML documents (separated by ---) strictly into the official
// types: a field the type does not have, a duplicate field or an unknown
// kind is an error, as `kubectl apply --validate=strict` would make it.
func Decode(data []byte) (*Objects, error) {
	var objs Objects
	for i, doc := range bytes.Split(append([]byte("\n"), data...), []byte("\n---\n")) {
		if isEmpty(doc) {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var into any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			d := &appsv1.Deployment{}
			objs.Deployments, into = append(objs.Deployments, d), d
		case "batch/v1 CronJob":
			c := &batchv1.CronJob{}
			objs.CronJobs, into = append(objs.CronJobs, c), c
		case "v1 Service":
			s := &corev1.Service{}
			objs.Services, into = append(objs.Services, s), s
		case "policy/v1 PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			objs.PDBs, into = append(objs.PDBs, p), p
		default:
			return nil, fmt.Errorf("document %d: unexpected kind %q (apiVersion %q)", i, tm.Kind, tm.APIVersion)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, tm.Kind, err)
		}
	}
	return &objs, nil
}

// isEmpty reports whether doc holds only blank lines and comments.
func isEmpty(doc []byte) bool {
	for _, l := range strings.Split(string(doc), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}
