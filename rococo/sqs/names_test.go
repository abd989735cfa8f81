package sqs

import (
	"testing"

	"github.com/rococo-go/rococo/rococo"
)

func TestQueueName(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"orders", "orders"},
		{"orders_queue-1", "orders_queue-1"},
		{rococo.DeadLetterQueue("orders"), "orders-dlq"},
		{"jobs.fifo", "jobs.fifo"},
		{rococo.DeadLetterQueue("jobs.fifo"), "jobs-dlq.fifo"},
		{".dlq", "-dlq"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := QueueName(tc.in); got != tc.want {
				t.Errorf("QueueName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
