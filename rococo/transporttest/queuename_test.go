package transporttest

import (
	"regexp"
	"testing"
)

func TestQueueName(t *testing.T) {
	valid := regexp.MustCompile(`^tt-[A-Za-z0-9-]+-[0-9a-f]{8}$`)
	seen := map[string]bool{}
	for _, name := range []string{"simple", "with spaces/and:colons", "a_very_long_subtest_name_that_goes_on_and_on_beyond_any_limit"} {
		t.Run(name, func(t *testing.T) {
			for range 3 {
				q := QueueName(t)
				if !valid.MatchString(q) || len(q)+len(".dlq") > 80 {
					t.Errorf("QueueName() = %q, want tt-<name>-<hex> of at most 76 characters", q)
				}
				if seen[q] {
					t.Errorf("QueueName() = %q twice", q)
				}
				seen[q] = true
			}
		})
	}
}
