package inventory

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// A target account forwards CloudTrail's management write events to
// Citadel's bus (citadel.ChangeEventSources); ChangedARNs reads which of
// the assets this package inventories an event changed, as the ARNs the
// collectors store (arns.go), so a re-check finds the same assets and
// Prowler's findings the same resources.

// ChangeEvent is an EventBridge event of detail-type
// citadel.CloudTrailDetailType, as the bus delivers it.
type ChangeEvent struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Detail     CloudTrailEvent `json:"detail"`
}

// CloudTrailEvent is the part of a CloudTrail record ChangedARNs reads.
type CloudTrailEvent struct {
	EventSource        string         `json:"eventSource"`
	EventName          string         `json:"eventName"`
	EventTime          time.Time      `json:"eventTime"`
	AWSRegion          string         `json:"awsRegion"`
	ReadOnly           bool           `json:"readOnly"`
	ErrorCode          string         `json:"errorCode"`
	RecipientAccountID string         `json:"recipientAccountId"`
	RequestParameters  map[string]any `json:"requestParameters"`
	ResponseElements   map[string]any `json:"responseElements"`
	Resources          []struct {
		ARN string `json:"ARN"`
	} `json:"resources"`
}

// ParseChangeEvent reads one forwarded event: it must be a CloudTrail API
// call of a source Citadel re-checks, from a 12-digit account.
func ParseChangeEvent(body []byte) (ChangeEvent, error) {
	var ev ChangeEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, citadel.Invalid("change event is not an EventBridge event: %v", err)
	}
	if ev.Account == "" {
		// EventBridge names the account a forwarded event comes from; an
		// emulator's delivery may not (moto's omits it), CloudTrail's record
		// always does.
		ev.Account = ev.Detail.RecipientAccountID
	}
	switch {
	case ev.DetailType != citadel.CloudTrailDetailType:
		return ev, citadel.Invalid("change event %s: detail-type %q is not %q", ev.ID, ev.DetailType, citadel.CloudTrailDetailType)
	case !slices.Contains(citadel.ChangeEventSources(), ev.Source):
		return ev, citadel.Invalid("change event %s: source %q is not one Citadel re-checks", ev.ID, ev.Source)
	case !validAccount(ev.Account):
		return ev, citadel.Invalid("change event %s: account %q is not a 12-digit account id", ev.ID, ev.Account)
	}
	return ev, nil
}

func validAccount(s string) bool {
	return len(s) == 12 && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// At is when the change was made: CloudTrail's eventTime, else the event's.
func (ev ChangeEvent) At() time.Time {
	if !ev.Detail.EventTime.IsZero() {
		return ev.Detail.EventTime
	}
	return ev.Time
}

// Changes reports whether the event can have changed something: a write
// (not readOnly) that succeeded (no errorCode).
func (ev ChangeEvent) Changes() bool { return !ev.Detail.ReadOnly && ev.Detail.ErrorCode == "" }

// ChangedARNs returns the ARNs of the inventoried resources the event
// names, sorted and unique: the record's resources, then the request's and
// response's identifiers its service uses (changeFields). A resource
// Citadel does not re-check (citadel.ProwlerServicesOfARN) is left out, as
// is an identifier no ARN can be built from without a lookup (a KMS alias,
// a secret's bare name: its ARN has a random suffix).
func ChangedARNs(ev ChangeEvent) []string {
	region := ev.Detail.AWSRegion
	if region == "" {
		region = ev.Region
	}
	account := ev.Detail.RecipientAccountID
	if account == "" {
		account = ev.Account
	}
	var out []string
	add := func(arn string) {
		if arn != "" && len(citadel.ProwlerServicesOfARN(arn)) > 0 {
			out = append(out, arn)
		}
	}
	for _, r := range ev.Detail.Resources {
		add(r.ARN)
	}
	svc := strings.TrimPrefix(ev.Source, "aws.")
	for _, f := range changeFields[svc] {
		for _, doc := range []map[string]any{ev.Detail.RequestParameters, ev.Detail.ResponseElements} {
			for _, v := range lookup(doc, f.path) {
				add(f.arn(region, account, v))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// changeField is where a service's events name a resource, and how its ARN
// is built from the value there.
type changeField struct {
	path string // dot-separated; "[]" walks every element of a list
	arn  func(region, account, v string) string
}

func ec2Field(path, kind string) changeField {
	return changeField{path, func(region, account, v string) string {
		if !strings.HasPrefix(v, ec2Prefixes[kind]) {
			return ""
		}
		return EC2ARN(region, account, kind, v)
	}}
}

// ec2Prefixes are EC2 ids' prefixes, by ARN resource kind.
var ec2Prefixes = map[string]string{
	"instance": "i-", "volume": "vol-", "security-group": "sg-", "vpc": "vpc-", "subnet": "subnet-", "internet-gateway": "igw-",
}

// arnOr keeps a value that is an ARN already, else builds one from the name.
func arnOr(build func(region, account, name string) string) func(region, account, v string) string {
	return func(region, account, v string) string {
		if strings.HasPrefix(v, "arn:") {
			return v
		}
		return build(region, account, v)
	}
}

func asIs(_, _, v string) string {
	if strings.HasPrefix(v, "arn:") {
		return v
	}
	return ""
}

// iamARN builds a path-less IAM ARN from a name; a resource with a path
// has another ARN, which its event's resources list names when CloudTrail
// gives them (the next full scan sees it either way).
func iamARN(kind string) func(region, account, v string) string {
	return arnOr(func(region, account, name string) string {
		return fmt.Sprintf("arn:%s:iam::%s:%s/%s", Partition(region), account, kind, name)
	})
}

// changeFields lists, per ARN service (an event source without "aws."),
// the request and response fields naming the resources its write events
// change. A field absent from an event is skipped.
var changeFields = map[string][]changeField{
	"s3": {{"bucketName", func(region, _, v string) string { return S3BucketARN(Partition(region), v) }}},
	"ec2": {
		ec2Field("instanceId", "instance"), ec2Field("instancesSet.items[].instanceId", "instance"),
		ec2Field("volumeId", "volume"), ec2Field("groupId", "security-group"),
		ec2Field("vpcId", "vpc"), ec2Field("vpc.vpcId", "vpc"),
		ec2Field("subnetId", "subnet"), ec2Field("subnet.subnetId", "subnet"),
		ec2Field("internetGatewayId", "internet-gateway"), ec2Field("internetGateway.internetGatewayId", "internet-gateway"),
	},
	"iam": {
		{"userName", iamARN("user")}, {"roleName", iamARN("role")}, {"groupName", iamARN("group")},
		{"policyArn", asIs}, {"user.arn", asIs}, {"role.arn", asIs}, {"group.arn", asIs}, {"policy.arn", asIs},
	},
	"lambda": {{"functionName", arnOr(func(region, account, name string) string {
		return fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", Partition(region), region, account, name)
	})}, {"functionArn", asIs}},
	"rds":      {{"dBInstanceIdentifier", arnOr(RDSInstanceARN)}},
	"dynamodb": {{"tableName", arnOr(DynamoDBTableARN)}, {"tableDescription.tableArn", asIs}},
	"kms":      {{"keyId", KMSKeyARN}, {"keyMetadata.arn", asIs}},
	"cloudtrail": {{"name", arnOr(func(region, account, name string) string {
		return fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/%s", Partition(region), region, account, name)
	})}, {"trailARN", asIs}},
	"elasticloadbalancing": {{"loadBalancerArn", asIs}, {"loadBalancers[].loadBalancerArn", asIs}},
	"ecs": {{"cluster", arnOr(func(region, account, name string) string {
		return fmt.Sprintf("arn:%s:ecs:%s:%s:cluster/%s", Partition(region), region, account, name)
	})}, {"cluster.clusterArn", asIs}},
	"sns":            {{"topicArn", asIs}, {"resourceArn", asIs}},
	"sqs":            {{"queueUrl", arnOr(SQSQueueARN)}},
	"secretsmanager": {{"secretId", asIs}, {"aRN", asIs}, {"arn", asIs}},
	"logs":           {{"logGroupName", arnOr(LogGroupARN)}},
}

// lookup returns the string values at path in doc.
func lookup(doc map[string]any, path string) []string {
	var walk func(v any, parts []string) []string
	walk = func(v any, parts []string) []string {
		if len(parts) == 0 {
			if s, ok := v.(string); ok && s != "" {
				return []string{s}
			}
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		key, list := strings.CutSuffix(parts[0], "[]")
		next := m[key]
		if !list {
			return walk(next, parts[1:])
		}
		items, _ := next.([]any)
		var out []string
		for _, it := range items {
			out = append(out, walk(it, parts[1:])...)
		}
		return out
	}
	if doc == nil {
		return nil
	}
	return walk(doc, strings.Split(path, "."))
}
