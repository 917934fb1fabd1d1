package awsx

import (
	"errors"
	"slices"

	"github.com/aws/smithy-go"
)

// ThrottleCodes are the AWS error codes that mean "busy or briefly broken,
// try again": throttling (as each service spells it) and transient service
// failures. The store (shared/ddb) and the steps that call AWS themselves
// (asset sync) classify errors by this one list.
var ThrottleCodes = []string{
	"Throttling",
	"ThrottlingException",
	"TooManyRequestsException",
	"RequestLimitExceeded",
	"ServiceUnavailable",
	"InternalServerError",
	"InternalFailure",
}

// IsThrottle reports whether err is (or wraps) an AWS API error whose code
// is one of ThrottleCodes.
func IsThrottle(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(ThrottleCodes, api.ErrorCode())
}
