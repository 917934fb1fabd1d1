package citadel

import (
	"regexp"
	"strings"
)

var (
	accountIDRe   = regexp.MustCompile(`^\d{12}$`)
	roleARNRe     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$`)
	regionRe      = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$`)
	externalIDRe  = regexp.MustCompile(`^[\w+=,.@:/-]{2,1000}$`)
	scheduleRe    = regexp.MustCompile(`^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\))$`)
	frameworkIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.\-]{0,99}$`)
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
