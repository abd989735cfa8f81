package sqs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
)

// DeadLetter is one message of a queue's dead-letter queue (SQS name
// QueueName(rococo.DeadLetterQueue(queue))).
type DeadLetter struct {
	// ID is the SQS MessageId of the dead-letter copy.
	ID string
	// Body is the message body.
	Body []byte
	// Error is the error that dead-lettered it (HeaderError).
	Error string
	// Attempt is the attempt that failed (HeaderAttempt).
	Attempt int
	// Queue is the queue it was dead-lettered from (HeaderOriginalQueue).
	Queue string
}

// Replayed counts what ReplayDeadLetters did.
type Replayed struct {
	// Moved were sent to their queue and deleted from the dead-letter queue.
	Moved int
	// Kept stayed in the dead-letter queue (not among the ids asked for).
	Kept int
}

// deadLetterHold is how long a listed message stays invisible before it is
// made visible again (at once, unless the process dies first).
const deadLetterHold = 60

// DeadLetters returns up to limit messages (all for limit <= 0) of the
// dead-letter queue of queue on the SQS of tc (what FromEnv returns),
// without removing them: each received message is made visible again when
// the listing ends.
func DeadLetters(ctx context.Context, tc rococo.TransportConfig, queue string, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	err := walkDeadLetters(ctx, tc, queue, func(_ *awssqs.Client, _ string, m types.Message) (bool, bool, error) {
		out = append(out, deadLetterOf(m))
		return false, limit <= 0 || len(out) < limit, nil
	})
	return out, err
}

// ReplayDeadLetters moves the messages of the dead-letter queue of queue
// (those whose ID is in ids; all when ids is empty) back to the queue they
// were dead-lettered from: each is sent there with its body and attributes
// (less the dead-letter ones) and, once SQS accepted it, deleted from the
// dead-letter queue. A message whose send fails stays there.
func ReplayDeadLetters(ctx context.Context, tc rococo.TransportConfig, queue string, ids []string) (Replayed, error) {
	var r Replayed
	urls := map[string]string{}
	err := walkDeadLetters(ctx, tc, queue, func(client *awssqs.Client, dlqURL string, m types.Message) (bool, bool, error) {
		id := aws.ToString(m.MessageId)
		if len(ids) > 0 && !slices.Contains(ids, id) {
			r.Kept++
			return false, true, nil
		}
		target := deadLetterOf(m).Queue
		if target == "" {
			target = queue
		}
		name := QueueName(target)
		if urls[name] == "" {
			got, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
			if err != nil {
				return false, false, fmt.Errorf("replay message %q: the queue %q: %w (the message stays in the dead-letter queue)", id, name, err)
			}
			urls[name] = aws.ToString(got.QueueUrl)
		}
		in := &awssqs.SendMessageInput{QueueUrl: aws.String(urls[name]), MessageBody: m.Body, MessageAttributes: replayAttributes(m.MessageAttributes)}
		if isFIFO(name) {
			in.MessageGroupId, in.MessageDeduplicationId = aws.String("rococo"), aws.String(id)
		}
		if _, err := client.SendMessage(ctx, in); err != nil {
			return false, false, fmt.Errorf("replay message %q to %q: %w (it stays in the dead-letter queue)", id, name, err)
		}
		if _, err := client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(dlqURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
			return true, false, fmt.Errorf("remove replayed message %q from the dead-letter queue (it was sent to %q, and may now be in both): %w", id, name, err)
		}
		r.Moved++
		return true, true, nil
	})
	return r, err
}

// walkDeadLetters receives the dead-letter queue of queue in batches until
// it is empty or fn says stop; fn reports whether it removed the message.
// The messages it did not remove are made visible again at the end.
func walkDeadLetters(ctx context.Context, tc rococo.TransportConfig, queue string, fn func(*awssqs.Client, string, types.Message) (removed, more bool, err error)) error {
	e, ok := tc.(envConfig)
	if !ok {
		return fmt.Errorf("dead letters of queue %q: the transport is not SQS's (%T)", queue, tc)
	}
	t, err := New(ctx, e.cfg, nil)
	if err != nil {
		return err
	}
	defer t.Close()
	client := t.Client()
	dlq := QueueName(rococo.DeadLetterQueue(queue))
	got, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(dlq)})
	if isNotExist(err) {
		return nil // the service never dead-lettered anything
	}
	if err != nil {
		return fmt.Errorf("dead letters of %s: %w", dlq, err)
	}
	url := got.QueueUrl
	var held []*string
	defer func() {
		// Give back what was only looked at, on a context of its own: an
		// interrupted listing still returns its messages.
		back, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, h := range held {
			_, _ = client.ChangeMessageVisibility(back, &awssqs.ChangeMessageVisibilityInput{QueueUrl: url, ReceiptHandle: h, VisibilityTimeout: 0})
		}
	}()
	for {
		out, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    url,
			MaxNumberOfMessages:         maxBatch,
			VisibilityTimeout:           deadLetterHold,
			WaitTimeSeconds:             1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return fmt.Errorf("dead letters of %s: receive: %w", dlq, err)
		}
		if len(out.Messages) == 0 {
			return nil
		}
		for i, m := range out.Messages {
			removed, more, err := fn(client, aws.ToString(url), m)
			if !removed {
				held = append(held, m.ReceiptHandle)
			}
			if err != nil || !more {
				for _, rest := range out.Messages[i+1:] {
					held = append(held, rest.ReceiptHandle)
				}
				return err
			}
		}
	}
}

func deadLetterOf(m types.Message) DeadLetter {
	attr := func(k string) string { return aws.ToString(m.MessageAttributes[k].StringValue) }
	n, _ := strconv.Atoi(attr(rococo.HeaderAttempt))
	return DeadLetter{ID: aws.ToString(m.MessageId), Body: []byte(aws.ToString(m.Body)), Error: attr(rococo.HeaderError), Attempt: n, Queue: attr(rococo.HeaderOriginalQueue)}
}

// replayAttributes are the attributes of a replayed message: the
// dead-letter ones dropped, so it starts again at attempt 1.
func replayAttributes(a map[string]types.MessageAttributeValue) map[string]types.MessageAttributeValue {
	out := map[string]types.MessageAttributeValue{}
	for k, v := range a {
		if !strings.HasPrefix(k, "x-rococo-") {
			out[k] = v
		}
	}
	return out
}
