package apiclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
)

// Stack is a deployed Citadel stack: its account, its region and its
// outputs by name (citadel.Output*).
type Stack struct {
	Name    string
	ID      string
	Account string
	Region  string
	Outputs map[string]string
}

// StackDescriber is the CloudFormation call FindStack makes.
type StackDescriber interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// FindStack reads a stack's outputs. A stack that does not exist is an
// error that says how to name another one.
func FindStack(ctx context.Context, cfn StackDescriber, name string) (Stack, error) {
	out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
		return Stack{}, fmt.Errorf("stack %q does not exist in this account and region (name another with --stack, or give the API with --api)", name)
	}
	if err != nil {
		return Stack{}, fmt.Errorf("describe stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 {
		return Stack{}, fmt.Errorf("describe stack %s: no stack in the answer", name)
	}
	st := out.Stacks[0]
	s := Stack{Name: aws.ToString(st.StackName), ID: aws.ToString(st.StackId), Outputs: map[string]string{}}
	if a, err := arn.Parse(s.ID); err == nil {
		s.Account, s.Region = a.AccountID, a.Region
	}
	for _, o := range st.Outputs {
		s.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return s, nil
}

// Output is one of the stack's outputs; a missing one is an error naming
// the stack and the output (an older stack, or another one).
func (s Stack) Output(name string) (string, error) {
	v := s.Outputs[name]
	if v == "" {
		return "", fmt.Errorf("stack %s has no output %s (is it a Citadel stack, deployed from this version?)", s.Name, name)
	}
	return v, nil
}
