package stepfn

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/citadelsecure/citadel/shared/awsx"
)

// Invoke is the step as a Lambda handler: the event is decoded by Raw, and
// an error reaches the runtime as its ErrorType, so Step Functions' Retry
// sees "RetryableError" whatever wrapped it and a catch sees the step's own
// message.
func (s Step[In, Out]) Invoke(ctx context.Context, event json.RawMessage) (Out, error) {
	out, err := s.Raw(ctx, event)
	if err != nil {
		return out, messages.InvokeResponse_Error{Type: ErrorType(err), Message: err.Error()}
	}
	return out, nil
}

// Lambda starts the Lambda runtime with the step; it does not return.
func Lambda[In, Out any](s Step[In, Out]) {
	lambda.Start(s.Invoke)
}

// Runtime is what a step's Lambda main builds its handler from.
type Runtime struct {
	AWS aws.Config
	Env Env
}

// Init sets up JSON logging (slog's default) and loads the AWS configuration,
// once per Lambda init; a configuration that cannot load fails the init with
// its reason.
func Init() Runtime {
	logger := awsx.SetupLogging()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		logger.Error("init", "error", err.Error())
		os.Exit(1)
	}
	return Runtime{AWS: cfg, Env: Env{Log: logger}.Defaults()}
}
