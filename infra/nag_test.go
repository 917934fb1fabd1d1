package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

// TestNagAwsSolutions: the AwsSolutions pack finds no unsuppressed error
// and no warning in any stack, in either configuration (the custom one has
// the StackSet stack).
func TestNagAwsSolutions(t *testing.T) {
	for name, s := range map[string]*synthesized{"default": defaultApp(t), "custom": customApp(t)} {
		stacks := []awscdk.Stack{s.stacks.Main.Stack, s.stacks.Target}
		if s.stacks.StackSet != nil {
			stacks = append(stacks, s.stacks.StackSet)
		}
		for _, stack := range stacks {
			ann := assertions.Annotations_FromStack(stack)
			for _, kind := range []string{"error", "warning"} {
				var found *[]*cxapi.SynthesisMessage
				match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
				if kind == "error" {
					found = ann.FindError(jsii.String("*"), match)
				} else {
					found = ann.FindWarning(jsii.String("*"), match)
				}
				for _, m := range *found {
					msg := ""
					if m.Entry != nil {
						msg, _ = m.Entry.Data.(string)
					}
					t.Errorf("%s/%s: cdk-nag %s at %s: %s", name, *stack.StackName(), kind, *m.Id, firstLine(msg))
				}
			}
		}
	}
}

// TestNagSuppressionsHaveReasons: each suppression in the templates says why.
func TestNagSuppressionsHaveReasons(t *testing.T) {
	s := defaultApp(t)
	count := 0
	for _, tmpl := range []map[string]any{s.json, s.tjson} {
		for id, r := range tmpl["Resources"].(map[string]any) {
			meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := meta["cdk_nag"].(map[string]any)
			if nag == nil {
				continue
			}
			for _, sup := range nag["rules_to_suppress"].([]any) {
				rule := sup.(map[string]any)
				count++
				reason, _ := rule["reason"].(string)
				if len(strings.Fields(reason)) < 8 {
					t.Errorf("%s: suppression of %v has no real reason: %q", id, rule["id"], reason)
				}
				if rule["id"] == "AwsSolutions-IAM5" || rule["id"] == "AwsSolutions-IAM4" {
					if applies, _ := rule["applies_to"].([]any); len(applies) == 0 {
						t.Errorf("%s: %v suppressed for every finding, not for named ones", id, rule["id"])
					}
				}
			}
		}
	}
	if count == 0 {
		t.Error("no suppression found: the metadata moved?")
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
