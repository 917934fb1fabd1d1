package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Queue creates a fresh SQS queue and returns its URL and ARN.
func Queue(tb testing.TB, cfg aws.Config) (url, arn string) {
	tb.Helper()
	ctx := context.Background()
	client := sqs.NewFromConfig(cfg)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(Name(tb, "citadel-test"))})
	if err != nil {
		tb.Fatalf("create queue: %v", err)
	}
	url = aws.ToString(q.QueueUrl)
	tb.Cleanup(func() {
		_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	})
	a, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		tb.Fatalf("queue attributes: %v", err)
	}
	return url, a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
}

// Receive reads the queue's messages until it holds want of them or wait
// has passed, and returns their bodies (deleted from the queue). A test of
// what must not arrive asks for more than it expects and a short wait.
func Receive(tb testing.TB, cfg aws.Config, url string, want int, wait time.Duration) []string {
	tb.Helper()
	ctx := context.Background()
	client := sqs.NewFromConfig(cfg)
	var bodies []string
	for deadline := time.Now().Add(wait); len(bodies) < want && time.Now().Before(deadline); {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			tb.Fatalf("receive from %s: %v", url, err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			_, _ = client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	}
	return bodies
}

// EventBus creates a fresh EventBridge bus with one rule of the given
// pattern targeting a fresh queue: the events put on the bus that match
// arrive in the queue (Receive) as EventBridge delivers them.
func EventBus(tb testing.TB, cfg aws.Config, pattern string) (bus, queueURL string) {
	tb.Helper()
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(cfg)
	bus = Name(tb, "citadel-bus")
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		tb.Fatalf("create bus: %v", err)
	}
	queueURL, queueARN := Queue(tb, cfg)
	rule := Name(tb, "citadel-rule")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus),
		EventPattern: aws.String(pattern)}); err != nil {
		tb.Fatalf("put rule: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(queueARN)}}}); err != nil {
		tb.Fatalf("put targets: %v", err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		_, _ = eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Ids: []string{"queue"}})
		_, _ = eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus)})
		_, _ = eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})
	return bus, queueURL
}
