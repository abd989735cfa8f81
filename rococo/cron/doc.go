// Package cron provides the scheduler behind EXECUTION_TYPE=CRON: it calls a
// rococo.CronProcessor every CRON_TIME_AMOUNT CRON_TIME_UNIT (optionally at
// CRON_RUN_AT every N days) or on the CRON_EXPRESSIONS crontab schedules.
//
// Runs never overlap: a run that falls due while the previous one is still
// going is skipped and logged. An error or panic in a run is logged, counted
// and reported, and the schedule goes on (Python rococo's schedule loop dies
// instead). Time comes from a Clock, so tests drive the scheduler with a
// fake clock (package crontest).
package cron
