package citadel

import (
	"regexp"
	"strings"
)

// The patterns of the values the API takes. openapi.yaml declares the same
// patterns on the same fields (shared/httpapi tests that they agree), so a
// value the document accepts is one the domain accepts. They use explicit
// ASCII classes, not \d, \w or \S, which other regex engines (the fuzzing
// client's) read as Unicode classes.
const (
	PatternAccountID   = `^[0-9]{12}$`
	PatternRoleARN     = `^arn:aws[a-z-]*:iam::([0-9]{12}):role/[A-Za-z0-9_+=,.@/-]{1,512}$`
	PatternRegion      = `^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`
	PatternExternalID  = `^[A-Za-z0-9_+=,.@:/-]{2,1000}$`
	PatternFrameworkID = `^[a-z0-9][a-z0-9_.-]{0,99}$`
	// PatternScheduleExpression is an EventBridge Scheduler rate() or a
	// cron() of 6 fields; PatternOptionalScheduleExpression also takes ""
	// (no schedule), as the API does.
	PatternScheduleExpression         = `^(` + scheduleAlternatives + `)$`
	PatternOptionalScheduleExpression = `^(` + scheduleAlternatives + `)?$`
	scheduleAlternatives              = `rate\([1-9][0-9]{0,8} (minute|minutes|hour|hours|day|days)\)|cron\(` + cronField + `( ` + cronField + `){5}\)`
	cronField                         = `[0-9A-Za-z*?,/#-]{1,32}`
	// PatternID is ValidID's rule: the ids of keys and URLs.
	PatternID = `^[A-Za-z0-9._-]{1,128}$`
	// PatternAssessmentID is RequirementAssessmentID's shape.
	PatternAssessmentID = `^ra-[0-9a-f]{20}$`
	// PatternService is a Prowler service name (s3, ec2, awslambda): every
	// check id starts with its service and '_'.
	PatternService = `^[a-z0-9]{1,64}$`
	// PatternAssetRef is AssetRef's shape: an integration id, '~', an ARN in
	// unpadded base64url.
	PatternAssetRef = `^[A-Za-z0-9._-]{1,128}~[A-Za-z0-9_-]+$`
)

var (
	accountIDRe    = regexp.MustCompile(PatternAccountID)
	roleARNRe      = regexp.MustCompile(PatternRoleARN)
	regionRe       = regexp.MustCompile(PatternRegion)
	externalIDRe   = regexp.MustCompile(PatternExternalID)
	scheduleRe     = regexp.MustCompile(PatternScheduleExpression)
	frameworkIDRe  = regexp.MustCompile(PatternFrameworkID)
	assessmentIDRe = regexp.MustCompile(PatternAssessmentID)
	serviceRe      = regexp.MustCompile(PatternService)
)

// fieldErrors collects validation failures so one error names them all.
type fieldErrors []string

func (f *fieldErrors) add(cond bool, msg string) {
	if cond {
		*f = append(*f, msg)
	}
}

func (f fieldErrors) err(what string) error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Op: what, Msg: strings.Join(f, "; ")}
}

// ValidAccountID reports whether s is a 12-digit AWS account id.
func ValidAccountID(s string) bool { return accountIDRe.MatchString(s) }

// ValidRegion reports whether s looks like an AWS region name (us-east-1).
func ValidRegion(s string) bool { return regionRe.MatchString(s) }

// ParseRoleARN checks an IAM role ARN and returns the account it belongs to.
func ParseRoleARN(arn string) (account string, err error) {
	m := roleARNRe.FindStringSubmatch(arn)
	if m == nil {
		return "", Invalid("role ARN %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", arn)
	}
	return m[1], nil
}

// ValidScheduleExpression reports whether s is an EventBridge Scheduler rate()
// or cron() expression.
func ValidScheduleExpression(s string) bool { return scheduleRe.MatchString(s) }

// ValidFrameworkID reports whether s is a framework id (cis_2.0_aws).
func ValidFrameworkID(s string) bool { return frameworkIDRe.MatchString(s) }

// ValidAssessmentID reports whether s has the shape of RequirementAssessmentID.
func ValidAssessmentID(s string) bool { return assessmentIDRe.MatchString(s) }

// ValidService reports whether s has the shape of a Prowler service name.
func ValidService(s string) bool { return serviceRe.MatchString(s) }
