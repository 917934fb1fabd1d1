package demoestate

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/citadelsecure/citadel/shared/inventory"
)

// messaging: SNS topics and SQS queues, plain and encrypted with the
// customer key.
func (s *seeder) messaging(east, west aws.Config) {
	n := sns.NewFromConfig(east)
	for _, t := range []struct {
		name string
		key  bool
	}{{"alerts", true}, {"notifications", false}} {
		attrs := map[string]string{}
		if t.key {
			attrs["KmsMasterKeyId"] = s.e.Resources["key-east"]
		}
		out, err := n.CreateTopic(s.ctx, &sns.CreateTopicInput{Name: aws.String(t.name), Attributes: attrs})
		if !s.ok("topic "+t.name, err) {
			return
		}
		s.res("topic-"+t.name, aws.ToString(out.TopicArn))
		s.add("sns_topics_kms_encryption_at_rest_enabled", "topic-"+t.name, map[bool]string{true: "PASS", false: "FAIL"}[t.key])
	}
	for _, q := range []struct {
		cfg  aws.Config
		name string
		key  string
	}{{east, "jobs", "key-east"}, {east, "jobs-dlq", ""}, {west, "jobs-eu", "key-west"}} {
		attrs := map[string]string{string(sqstypes.QueueAttributeNameSqsManagedSseEnabled): "false"}
		if q.key != "" {
			attrs = map[string]string{string(sqstypes.QueueAttributeNameKmsMasterKeyId): s.e.Resources[q.key]}
		}
		out, err := sqs.NewFromConfig(q.cfg).CreateQueue(s.ctx, &sqs.CreateQueueInput{QueueName: aws.String(q.name), Attributes: attrs})
		if !s.ok("queue "+q.name, err) {
			return
		}
		s.res("queue-"+q.name, inventory.SQSQueueARN(q.cfg.Region, s.account, aws.ToString(out.QueueUrl)))
		s.add("sqs_queues_server_side_encryption_enabled", "queue-"+q.name, map[bool]string{true: "PASS", false: "FAIL"}[q.key != ""])
	}
}
