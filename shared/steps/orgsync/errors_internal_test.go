package orgsync

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Organizations' failures, classified: throttling and transient ones are
// retryable (the state machine retries them), an OU the organization lacks
// is the integration's invalid option, the rest are kept as they are.
func TestOrgErr(t *testing.T) {
	api := func(code string) error {
		return fmt.Errorf("operation error Organizations: ListAccounts: %w", &smithy.GenericAPIError{Code: code, Message: "m"})
	}
	tests := []struct {
		name      string
		err       error
		retryable bool
		code      citadel.ErrorCode
	}{
		{"throttled", api("TooManyRequestsException"), true, citadel.CodeInternal},
		{"Organizations' internal error", api("ServiceException"), true, citadel.CodeInternal},
		{"out of time", context.DeadlineExceeded, true, citadel.CodeInternal},
		{"an OU it lacks", api("ParentNotFoundException"), false, citadel.CodeInvalid},
		{"not the management account", api("AccessDeniedException"), false, citadel.CodeInternal},
		{"no organization", api("AWSOrganizationsNotInUseException"), false, citadel.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := orgErr(tt.err, "list the accounts of ou-ab12-cdef5678")
			if citadel.IsRetryable(got) != tt.retryable || citadel.CodeOf(got) != tt.code {
				t.Errorf("%v: retryable %v, code %s; want %v, %s", got, citadel.IsRetryable(got), citadel.CodeOf(got), tt.retryable, tt.code)
			}
			if !errors.Is(got, tt.err) && tt.code != citadel.CodeInvalid {
				t.Errorf("%v lost its cause", got)
			}
		})
	}
}
