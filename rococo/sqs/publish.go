package sqs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rococo-go/rococo/rococo"
)

const stringType = "String"

// Publish sends msgs to queue (a rococo name, see QueueName), creating the
// queue when it does not exist. Every body must be JSON (rococo.CheckJSON,
// Python's NaN and Infinity included): when one is not, nothing is sent
// and the error names it. Each body is sent as the message body, as it is: Python rococo sends json.dumps(message) as MessageBody, so a JSON
// body published here reads the same to a Python consumer. Headers become
// String message attributes (SQS allows at most 10 per message and no empty
// values). Only Body and Headers are sent.
//
// One message is sent with SendMessage; more go in SendMessageBatch
// requests of at most 10 messages and 256 KiB each. Publish returns once SQS
// has accepted every message. When some are refused, the error names each
// refused message by its index in msgs and SQS's reason; the others were
// sent. Publish is safe for concurrent use.
func (t *Transport) Publish(ctx context.Context, queue string, msgs ...*rococo.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if t.isClosed() {
		return ErrClosed
	}
	for i, m := range msgs {
		if err := rococo.CheckJSON(m.Body); err != nil {
			return fmt.Errorf("publish to %q: message %d (nothing sent): %w", queue, i, err)
		}
	}
	url, err := t.queueURL(ctx, queue)
	if err != nil {
		return fmt.Errorf("publish to %q: %w", queue, err)
	}
	if len(msgs) == 1 {
		attrs, err := headerAttributes(msgs[0].Headers)
		if err != nil {
			return fmt.Errorf("publish to %q: %w", queue, err)
		}
		sctx, cancel := context.WithTimeout(ctx, settleTimeout)
		_, err = t.client.SendMessage(sctx, &awssqs.SendMessageInput{
			QueueUrl:          aws.String(url),
			MessageBody:       aws.String(string(msgs[0].Body)),
			MessageAttributes: attrs,
		})
		cancel()
		if err != nil {
			if isNotExist(err) {
				t.forgetQueue(queue)
			}
			return fmt.Errorf("publish to %q: %w", queue, err)
		}
		return nil
	}
	entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
	sizes := make([]int, len(msgs))
	for i, m := range msgs {
		attrs, err := headerAttributes(m.Headers)
		if err != nil {
			return fmt.Errorf("publish to %q: message %d: %w", queue, i, err)
		}
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			MessageBody:       aws.String(string(m.Body)),
			MessageAttributes: attrs,
		}
		sizes[i] = len(m.Body) + attributesSize(attrs)
	}
	var failed []string
	for start := 0; start < len(entries); {
		end, bytes := start, 0
		for end < len(entries) && end-start < maxBatch && (end == start || bytes+sizes[end] <= maxBatchBytes) {
			bytes += sizes[end]
			end++
		}
		sctx, cancel := context.WithTimeout(ctx, settleTimeout)
		out, err := t.client.SendMessageBatch(sctx, &awssqs.SendMessageBatchInput{
			QueueUrl: aws.String(url),
			Entries:  entries[start:end],
		})
		cancel()
		if err != nil {
			if isNotExist(err) {
				t.forgetQueue(queue)
			}
			err = fmt.Errorf("publish to %q: messages %d to %d of %d not sent: %w", queue, start, len(msgs)-1, len(msgs), err)
			if len(failed) > 0 {
				err = errors.Join(err, batchError(queue, failed, len(msgs)))
			}
			return err
		}
		ok := make(map[string]bool, end-start)
		for _, s := range out.Successful {
			ok[aws.ToString(s.Id)] = true
		}
		for _, f := range out.Failed {
			ok[aws.ToString(f.Id)] = true // answered, with an error
			failed = append(failed, fmt.Sprintf("message %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
		}
		for i := start; i < end; i++ {
			if !ok[strconv.Itoa(i)] {
				failed = append(failed, fmt.Sprintf("message %d: missing from the SendMessageBatch response", i))
			}
		}
		start = end
	}
	if len(failed) > 0 {
		return batchError(queue, failed, len(msgs))
	}
	return nil
}

func batchError(queue string, failed []string, total int) error {
	return fmt.Errorf("publish to %q: %d of %d messages refused: %s", queue, len(failed), total, strings.Join(failed, "; "))
}

// headerAttributes turns headers into String message attributes.
func headerAttributes(h map[string]string) (map[string]types.MessageAttributeValue, error) {
	if len(h) == 0 {
		return nil, nil
	}
	if len(h) > maxBatch {
		return nil, fmt.Errorf("%d headers: SQS allows at most 10 message attributes", len(h))
	}
	attrs := make(map[string]types.MessageAttributeValue, len(h))
	for k, v := range h {
		if v == "" {
			return nil, fmt.Errorf("header %q is empty: SQS message attributes need a value", k)
		}
		attrs[k] = stringAttribute(v)
	}
	return attrs, nil
}

func stringAttribute(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String(stringType), StringValue: aws.String(v)}
}

// attributesSize is what attrs count toward the message size limit: names,
// types and values.
func attributesSize(attrs map[string]types.MessageAttributeValue) int {
	n := 0
	for k, v := range attrs {
		n += len(k) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// sanitize makes s a valid SQS attribute value of at most maxBytes bytes:
// characters SQS refuses (control characters other than tab, LF and CR,
// surrogates, U+FFFE/U+FFFF, invalid UTF-8) become U+FFFD, and a longer
// value is cut at a character boundary with "…" appended.
func sanitize(s string, maxBytes int) string {
	var b strings.Builder
	for _, r := range s {
		if !validSQSRune(r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > maxBytes-len("…") {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validSQSRune reports whether SQS accepts r in a message or attribute
// (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF).
func validSQSRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}
