package main

import (
	"strings"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppress records a cdk-nag suppression on c and its children, with the
// reason it is acceptable, for the findings named in appliesTo (an exact
// finding, or an ECMA-262 regex when written /like this/). Every suppression
// in the app goes through here, so each one carries a reason.
func suppress(c constructs.IConstruct, rule, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		applies := make([]interface{}, 0, len(appliesTo))
		for _, a := range appliesTo {
			if strings.HasPrefix(a, "/") {
				applies = append(applies, &cdknag.RegexAppliesTo{Regex: jsii.String(a)})
			} else {
				applies = append(applies, a)
			}
		}
		s.AppliesTo = &applies
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}

// Findings of AwsSolutions-IAM4 and -IAM5 that recur.
const (
	policyLambdaBasic   = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	policySecurityAudit = "Policy::arn:<AWS::Partition>:iam::aws:policy/SecurityAudit"
	policyViewOnly      = "Policy::arn:<AWS::Partition>:iam::aws:policy/job-function/ViewOnlyAccess"
	findingTableIndexes = `/^Resource::<Table[0-9A-F]{8}\.Arn>\/index\/\*$/g`
	findingAnyResource  = "Resource::*"
)
