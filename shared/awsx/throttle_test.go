package awsx_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/shared/awsx"
)

func TestIsThrottle(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	tests := map[string]struct {
		err  error
		want bool
	}{
		"nil":                 {nil, false},
		"plain error":         {errors.New("ThrottlingException"), false},
		"access denied":       {api("AccessDenied"), false},
		"validation":          {api("ValidationException"), false},
		"wrapped throttling":  {fmt.Errorf("query: %w", api("ThrottlingException")), true},
		"too many requests":   {api("TooManyRequestsException"), true},
		"request limit":       {api("RequestLimitExceeded"), true},
		"service unavailable": {api("ServiceUnavailable"), true},
		"internal failure":    {api("InternalFailure"), true},
		"internal server":     {api("InternalServerError"), true},
		"throttling (query)":  {api("Throttling"), true},
		"code case is exact":  {api("throttling"), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := awsx.IsThrottle(tc.err); got != tc.want {
				t.Errorf("IsThrottle(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	for _, code := range awsx.ThrottleCodes {
		if !awsx.IsThrottle(api(code)) {
			t.Errorf("code %s of ThrottleCodes is not a throttle", code)
		}
	}
}
