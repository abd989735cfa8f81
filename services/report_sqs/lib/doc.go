// Package lib provides the business logic of the report_sqs example service:
// it validates report requests, summarises their rows and delivers the
// summaries to a file, a results queue, or the log.
package lib
