// Package lib provides the business logic of the email_rabbitmq example
// service: decoding and validating an email request, and handing it to an
// Outbox (a file of JSON lines here; an SMTP or API client in a real
// service).
package lib
