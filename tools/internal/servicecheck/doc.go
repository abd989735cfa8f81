// Package servicecheck checks a service's image env with the runtime's own
// validation (rococo/config, which parses schedules with rococo/cron), so
// that rococo_service, its build action and `rococo check` accept exactly
// what the service accepts at start. Problems read
// "<label>: <problem>. Fix: <fix>.", naming the BUILD attribute to change.
package servicecheck
