// Package band provides Band's service model in the Go runtime: a service of
// functions with roles, registered explicitly in main and run by the
// service host (EXECUTION_TYPE=BAND, or next to a MESSAGING or CRON
// processor):
//
//   - handlers (Handle) answer HTTP requests on the service's one port,
//     with typed, context-first functions func(ctx, In) (Out, error) whose
//     input is bound from the query, the body and the path, and honest
//     status codes with JSON errors;
//   - workers (Service.Worker) run for as long as the service, restarted
//     after an error or a panic with capped, decaying exponential backoff,
//     and may hold readiness until their first successful round;
//   - scheduled functions (Service.Every, Service.Crontab) run on
//     rococo/cron's scheduler;
//   - cleanups (Service.Cleanup) run at shutdown, after requests drained,
//     in reverse order, each bounded by what is left of SHUTDOWN_TIMEOUT;
//   - listeners (Listen) receive the events whose key matches their
//     patterns, from a durable RabbitMQ queue of their own, through the
//     runtime's router (docs/band-events.md).
//
// A service's settings come from config.yaml and custom.yaml, rendered with
// the environment and decoded strictly into its own struct (Settings;
// package rococo/settings). /status lists every function with its role and
// options. See README.md for the model and the measurements.
package band
