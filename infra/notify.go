package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// OutputNotificationTopic is the stack output naming the topic's ARN.
const OutputNotificationTopic = "NotificationTopicArn"

// NotifyRetries is how often EventBridge retries delivering an event to the
// topic, within NotifyMaxEventAge hours.
const (
	NotifyRetries     = 8
	NotifyMaxEventAge = 24
)

// NotificationPattern is the notification rule's event pattern: every event
// Citadel puts on the drift bus (regressions, and scans that ended). The
// same map is documented in docs/notifications.md for chat tools.
func NotificationPattern() map[string]any {
	return map[string]any{
		"source":      []string{citadel.EventSource},
		"detail-type": citadel.NotifiedDetailTypes,
	}
}

// Notifications are the SNS topic people subscribe to and the rule that
// feeds it from the drift bus.
type Notifications struct {
	Key   awskms.Key
	Topic awssns.Topic
	Rule  awsevents.Rule
}

// newNotifications routes the drift bus's events (NotificationPattern) to an
// SNS topic, as EventBridge delivers them (the raw event JSON: what AWS
// Chatbot formats for Slack, Chime and Teams, and what a subscriber can
// filter on), with an e-mail subscription per configured address. The topic
// is encrypted with a key of its own (the AWS-managed SNS key does not let
// EventBridge publish) and refuses requests without TLS.
func newNotifications(scope constructs.Construct, cfg Config, bus awsevents.EventBus) *Notifications {
	n := &Notifications{}
	n.Key = awskms.NewKey(scope, jsii.String("NotificationsKey"), &awskms.KeyProps{
		Description:       jsii.String("Citadel notifications: encrypts the topic's messages"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	// EventBridge publishes to the encrypted topic.
	n.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("EventBridgePublishes"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // a key policy's resource is the key itself
	}), nil)
	n.Topic = awssns.NewTopic(scope, jsii.String("Notifications"), &awssns.TopicProps{
		DisplayName: jsii.String("Citadel"),
		MasterKey:   n.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	for _, addr := range cfg.NotifyEmails {
		n.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(addr), nil))
	}
	pattern := NotificationPattern()
	n.Rule = awsevents.NewRule(scope, jsii.String("NotifyRule"), &awsevents.RuleProps{
		Description: jsii.String("Citadel's drift events and scan ends, to the notifications topic"),
		EventBus:    bus,
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(pattern["source"].([]string)...),
			DetailType: jsii.Strings(pattern["detail-type"].([]string)...),
		},
	})
	n.Rule.AddTarget(awseventstargets.NewSnsTopic(n.Topic, &awseventstargets.SnsTopicProps{
		RetryAttempts: jsii.Number(NotifyRetries),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(NotifyMaxEventAge)),
	}))
	return n
}
