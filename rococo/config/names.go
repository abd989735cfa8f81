package config

import "regexp"

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	queueRE  = regexp.MustCompile(`^[A-Za-z0-9_.:\-]{1,80}$`)
	hostRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9\-_.]*[A-Za-z0-9])?$`)
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
)

// validName reports whether s can be a Go type name (PROCESSOR_TYPE).
func validName(s string) bool { return nameRE.MatchString(s) }

// validQueue reports whether s is a queue name both RabbitMQ and SQS accept
// (SQS allows 80 characters of letters, digits, '-' and '_'; ".fifo"
// queues and RabbitMQ allow more, so '.' and ':' are accepted too).
func validQueue(s string) bool { return queueRE.MatchString(s) }

// validHost reports whether s is a host name or an IPv4 address (IPv6
// literals are accepted by the callers through net.ParseIP).
func validHost(s string) bool { return len(s) <= 253 && hostRE.MatchString(s) }
