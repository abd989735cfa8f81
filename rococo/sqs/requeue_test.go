package sqs

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
	"github.com/rococo-go/rococo/rococo/transporttest"
)

func TestReceivedAttempt(t *testing.T) {
	str := func(v string) types.MessageAttributeValue { return stringAttribute(v) }
	tests := []struct {
		name        string
		attempt     *types.MessageAttributeValue
		receives    string
		want        int
		redelivered bool
	}{
		{"first receive of a plain message", nil, "1", 1, false},
		{"no receive count", nil, "", 1, false},
		{"plain message received twice", nil, "2", 2, true},
		{"copy of a retry", ptr(str("3")), "1", 3, false},
		{"copy received again after a crash", ptr(str("3")), "2", 4, true},
		{"garbage attempt counts as 1", ptr(str("abc")), "1", 1, false},
		{"zero attempt counts as 1", ptr(str("0")), "1", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := types.Message{Attributes: map[string]string{}, MessageAttributes: map[string]types.MessageAttributeValue{}}
			if tt.receives != "" {
				m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)] = tt.receives
			}
			if tt.attempt != nil {
				m.MessageAttributes[rococo.HeaderAttempt] = *tt.attempt
			}
			got, red := receivedAttempt(m)
			if got != tt.want || red != tt.redelivered {
				t.Errorf("receivedAttempt = %d, %v, want %d, %v", got, red, tt.want, tt.redelivered)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCopyAttributes(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	many := map[string]types.MessageAttributeValue{}
	for i := range 10 {
		many["h"+strconv.Itoa(i)] = stringAttribute("v")
	}
	tests := []struct {
		name        string
		orig        map[string]types.MessageAttributeValue
		delay       time.Duration
		wantLen     int
		wantDropped int
		notBefore   bool
	}{
		{"no attributes", nil, time.Second, 2, 0, false},
		{"replaces its own attributes", map[string]types.MessageAttributeValue{rococo.HeaderAttempt: stringAttribute("9"), headerID: stringAttribute("old"), "a": stringAttribute("b")}, 0, 3, 0, false},
		{"long delay adds not-before", nil, maxDelay + time.Minute, 3, 0, true},
		{"keeps at most 10", many, 0, 10, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &delivery{msg: &rococo.Message{ID: "id-1"}, attrs: tt.orig}
			attrs, dropped := copyAttributes(d, 4, now, tt.delay)
			if len(attrs) != tt.wantLen || len(dropped) != tt.wantDropped {
				t.Fatalf("got %d attributes, %d dropped, want %d and %d", len(attrs), len(dropped), tt.wantLen, tt.wantDropped)
			}
			if got := aws.ToString(attrs[rococo.HeaderAttempt].StringValue); got != "4" {
				t.Errorf("attempt = %q, want 4", got)
			}
			if got := aws.ToString(attrs[headerID].StringValue); got != "id-1" {
				t.Errorf("id = %q, want id-1", got)
			}
			at, ok := notBefore(attrs)
			if ok != tt.notBefore || (ok && !at.Equal(now.Add(tt.delay))) {
				t.Errorf("notBefore = %v, %v, want %v at %v", at, ok, tt.notBefore, now.Add(tt.delay))
			}
		})
	}
}

func TestSendBatches(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int
		want  [][2]int
	}{
		{"none", nil, nil},
		{"eleven small", make([]int, 11), [][2]int{{0, 10}, {10, 11}}},
		{"by bytes", []int{200 << 10, 100 << 10, 1}, [][2]int{{0, 1}, {1, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sendBatches(tt.sizes)
			if len(got) != len(tt.want) {
				t.Fatalf("sendBatches = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("sendBatches = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// TestTimedOutMessageIsRedelivered: a message whose visibility timeout runs
// out unsettled (its consumer died, in effect) comes back Redelivered at the
// next attempt.
func TestTimedOutMessageIsRedelivered(t *testing.T) {
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	u, err := tr.queueURL(testCtx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, tr, q, `{"t":1}`)
	got, err := tr.client.ReceiveMessage(testCtx(t), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(u), VisibilityTimeout: 1, WaitTimeSeconds: 5})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("ReceiveMessage = %d messages, %v", len(got.Messages), err)
	}
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "message whose visibility timeout ran out")
	if m := d.Message(); m.Attempt != 2 || !m.Redelivered {
		t.Errorf("Attempt %d Redelivered %v, want 2 and true", m.Attempt, m.Redelivered)
	}
	if err := d.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// TestLongDelayHops: a copy carrying a not-before time further away than a
// second is not handed out before it, and arrives unchanged (attempt, ID,
// not redelivered). Retries longer than SQS's 15-minute DelaySeconds take
// this path.
func TestLongDelayHops(t *testing.T) {
	tr := newTestTransport(t)
	q := transporttest.QueueName(t)
	u, err := tr.queueURL(testCtx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(3 * time.Second)
	_, err = tr.client.SendMessage(testCtx(t), &awssqs.SendMessageInput{
		QueueUrl:    aws.String(u),
		MessageBody: aws.String(`{"hop":1}`),
		MessageAttributes: map[string]types.MessageAttributeValue{
			rococo.HeaderAttempt: stringAttribute("3"),
			headerID:             stringAttribute("orig-id"),
			headerNotBefore:      stringAttribute(strconv.FormatInt(at.UnixMilli(), 10)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := consume(t, tr, q, rococo.ConsumeOptions{Prefetch: 1})
	d := next(t, ch, "message after its not-before time")
	if early := time.Until(at); early > time.Second {
		t.Errorf("handed out %v before its not-before time", early)
	}
	if m := d.Message(); m.Attempt != 3 || m.Redelivered || m.ID != "orig-id" {
		t.Errorf("Attempt %d Redelivered %v ID %q, want 3, false, orig-id", m.Attempt, m.Redelivered, m.ID)
	}
	if err := d.Ack(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	requireEmpty(t, tr, q)
}
