package citadel

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A re-check scans only the resources that changed. The target account's
// stack forwards CloudTrail's management write events of the inventoried
// services to Citadel's bus; a buffer coalesces them per integration for a
// short window and starts one scan of trigger change whose Recheck names the
// changed resources (shared/jobs/recheck). Every step of that scan reads
// Recheck from its plan and touches only those resources: asset sync
// collects and updates them alone, Prowler runs with --resource-arn and only
// their services' checks, check-results resolves nothing else, controls and
// evidence move only by what those results changed.

// MaxRecheckResources is the most resources one re-check covers: a burst
// naming more becomes a full scan (trigger change, no Recheck), which sees
// every change at once.
const MaxRecheckResources = 500

// RecheckFileName is the re-check's resources, under its scan's objects
// (ScanObjectKey).
const RecheckFileName = "recheck.json"

// Recheck is what a re-check covers, as it travels (the execution's input,
// the plan, the scan record): counts and the key of its RecheckFile.
type Recheck struct {
	// Key is the S3 key of the RecheckFile (in the scan bucket).
	Key string `json:"key"`
	// Resources counts the changed resources (RecheckFile.ARNs).
	Resources int `json:"resources"`
	// Services are the Prowler services whose checks the re-check runs,
	// sorted.
	Services []string `json:"services"`
	// Events counts the change events coalesced into it.
	Events int `json:"events"`
	// FirstEventAt and LastEventAt bound the events' times.
	FirstEventAt time.Time `json:"first_event_at"`
	LastEventAt  time.Time `json:"last_event_at"`
}

// RecheckFile is the changed resources of one re-check.
type RecheckFile struct {
	IntegrationID string    `json:"integration_id"`
	ARNs          []string  `json:"arns"`
	Services      []string  `json:"services"`
	Events        int       `json:"events"`
	FirstEventAt  time.Time `json:"first_event_at"`
	LastEventAt   time.Time `json:"last_event_at"`
}

// Recheck is the file as it travels, stored at key.
func (f RecheckFile) Recheck(key string) Recheck {
	return Recheck{Key: key, Resources: len(f.ARNs), Services: slices.Clone(f.Services), Events: f.Events,
		FirstEventAt: f.FirstEventAt, LastEventAt: f.LastEventAt}
}

// Validate checks a re-check's file: an integration, 1 to
// MaxRecheckResources sorted unique ARNs, each of a service Prowler checks,
// and the services they give.
func (f RecheckFile) Validate() error {
	var errs fieldErrors
	errs.add(!ValidID(f.IntegrationID), fmt.Sprintf("integration_id %q is not an integration id", f.IntegrationID))
	errs.add(len(f.ARNs) == 0, "arns: a re-check names at least one resource")
	errs.add(len(f.ARNs) > MaxRecheckResources, fmt.Sprintf("arns: %d resources, more than the %d a re-check covers", len(f.ARNs), MaxRecheckResources))
	errs.add(!slices.IsSorted(f.ARNs) || len(slices.Compact(slices.Clone(f.ARNs))) != len(f.ARNs), "arns must be sorted and unique")
	for _, a := range f.ARNs {
		if len(ProwlerServicesOfARN(a)) == 0 {
			errs.add(true, fmt.Sprintf("arns: %q is not the ARN of a resource Citadel re-checks", a))
		}
	}
	errs.add(!slices.Equal(f.Services, RecheckServices(f.ARNs)), "services must be the Prowler services of the arns, sorted")
	errs.add(f.Events < 1, "events: a re-check comes from at least one event")
	errs.add(f.LastEventAt.Before(f.FirstEventAt), "last_event_at is before first_event_at")
	return errs.err("recheck file")
}

// ParseRecheckFile reads and validates a re-check's file.
func ParseRecheckFile(b []byte) (RecheckFile, error) {
	var f RecheckFile
	if err := json.Unmarshal(b, &f); err != nil {
		return f, Invalid("recheck file is not JSON: %v", err)
	}
	return f, f.Validate()
}

// Covers reports whether the re-check covers the resource arn.
func (f RecheckFile) Covers(arn string) bool {
	_, ok := slices.BinarySearch(f.ARNs, arn)
	return ok
}

// ARN is an Amazon Resource Name's parts.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// ParseARN splits arn:partition:service:region:account:resource; ok is
// false when s is not one.
func ParseARN(s string) (ARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, false
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

// arnServices maps an ARN's service (and, for ec2, its resource type) to the
// Prowler services whose checks judge that resource: the one home of that
// table. Prowler names some services apart from their ARNs (awslambda,
// elb and elbv2, cloudwatch for log groups), and splits EC2's network
// resources into its vpc service. Prowler itself narrows the checks further
// by the ARNs it is given (--resource-arn: the intersection with its own
// service and sub-service reading, Prowler 5.40's get_checks_from_input_arn),
// so a check here that Prowler does not run is simply not executed. Only the resources Citadel inventories are here
// (shared/inventory): a change to anything else starts no re-check.
var arnServices = map[string][]string{
	"s3":                   {"s3"},
	"iam":                  {"iam"},
	"lambda":               {"awslambda"},
	"rds":                  {"rds"},
	"dynamodb":             {"dynamodb"},
	"kms":                  {"kms"},
	"cloudtrail":           {"cloudtrail"},
	"elasticloadbalancing": {"elb", "elbv2"},
	"ecs":                  {"ecs"},
	"sns":                  {"sns"},
	"sqs":                  {"sqs"},
	"secretsmanager":       {"secretsmanager"},
	"logs":                 {"cloudwatch"},
	"ec2/instance":         {"ec2"},
	"ec2/volume":           {"ec2"},
	"ec2/security-group":   {"ec2"},
	"ec2/vpc":              {"vpc"},
	"ec2/subnet":           {"vpc"},
	"ec2/internet-gateway": {"vpc"},
}

// ProwlerServicesOfARN returns the Prowler services whose checks judge the
// resource arn, or nil when Citadel does not re-check it.
func ProwlerServicesOfARN(arn string) []string {
	a, ok := ParseARN(arn)
	if !ok {
		return nil
	}
	key := a.Service
	if a.Service == "ec2" {
		typ, _, _ := strings.Cut(a.Resource, "/")
		key = "ec2/" + typ
	}
	return arnServices[key]
}

// RecheckServices returns the Prowler services of arns, sorted and unique.
func RecheckServices(arns []string) []string {
	var out []string
	for _, a := range arns {
		out = append(out, ProwlerServicesOfARN(a)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// StepRecheck names the re-check buffer (shared/jobs/recheck,
// functions/recheck): change events in, re-check executions out.
const StepRecheck = "recheck"

// CloudTrailDetailType is the detail-type EventBridge gives a CloudTrail
// management event: what a target account forwards.
const CloudTrailDetailType = "AWS API Call via CloudTrail"

// ChangeEventSources are the event sources a target account forwards and
// Citadel's bus admits ("aws." and the ARN service of each resource Citadel
// re-checks), sorted.
func ChangeEventSources() []string {
	var out []string
	for k := range arnServices {
		svc, _, _ := strings.Cut(k, "/")
		out = append(out, "aws."+svc)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
