// Package health provides the HTTP handler a service serves on HEALTH_PORT:
// /healthz (liveness), /readyz (readiness: 200, or 503 with the reason),
// /metrics (Prometheus, from the gatherer passed in) and /status (a JSON
// status document).
package health
