// Package manifest provides the Kubernetes manifests of a rococo service,
// generated from what its image holds (the baked environment) and the
// rococo_service attributes that only a deployment needs (replicas,
// resources, a disruption budget), with the official k8s.io/api types, and
// their strict checking.
//
// A MESSAGING or BAND service becomes a Deployment (BAND also a Service for
// its HTTP handlers); a CRON service a CronJob running `--once` on its
// schedule when a crontab can express it, else a single-replica Deployment
// (or, with replicas above 1, a Deployment whose replicas elect a leader).
// Every pod runs as the image's non-root user with a read-only root file
// system, all capabilities dropped and an emptyDir on /tmp; the image is
// pinned by its index digest; the grace period outlasts SHUTDOWN_TIMEOUT.
//
// Generate writes the manifests; Decode reads them back strictly (unknown
// fields fail) and Verify checks the properties above, for tests.
package manifest
