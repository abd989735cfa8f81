// Package host provides the service host: the Go counterpart of Python's
// rococo-service-host. Main reads and validates the environment, picks the
// processor named by PROCESSOR_TYPE, prints the start-up banner, sets up
// logging, error reporting, metrics and the health server, then consumes
// messages (EXECUTION_TYPE=MESSAGING) or runs the processor on a schedule
// (EXECUTION_TYPE=CRON) until SIGTERM or SIGINT, and drains. A band service
// (package rococo/band) passed among the processors is the whole service
// with EXECUTION_TYPE=BAND, and runs its functions beside the processor
// otherwise (band.go). With the
// --once flag a cron processor runs once, now, and the service exits (a
// Kubernetes CronJob, or a quick try); --version prints the banner;
// --check validates the configuration and the processor name, connects to
// nothing and exits 0 or 2.
//
// Exit status: 0 after a clean stop (or EXIT_WHEN_FINISHED), 2 for an
// invalid environment, an unknown processor or a band registration or
// settings mistake (one line on stderr, before anything connects), 1 for a failure at run time (with --once: the run
// failed), and 1 at once on a
// second SIGTERM/SIGINT during the drain.
package host
