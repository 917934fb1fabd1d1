package ddb

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// The cancellation reason codes of a TransactionCanceledException that the
// store tells apart (DynamoDB's CancellationReason.Code values).
const (
	reasonConditionalCheckFailed = "ConditionalCheckFailed"
	reasonTransactionConflict    = "TransactionConflict"
)

// reasonsThrottled are the cancellation reasons that mean "busy, retry".
var reasonsThrottled = []string{"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}

// wrapAWS adds context to an SDK error and classifies it: throttling and
// transient service errors are retryable; a cancelled transaction is a
// conflict when a condition failed or a concurrent transaction touched the
// same items (after the client's retries, see RetryTransactionConflicts),
// retryable when it was throttled.
func wrapAWS(err error, what string) error {
	if err == nil {
		return nil
	}
	var domain *citadel.Error
	if errors.As(err, &domain) {
		return err
	}
	wrapped := fmt.Errorf("dynamodb %s: %w", what, err)
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		reasons := cancellationReasons(tc)
		switch {
		case slices.Contains(reasons, reasonConditionalCheckFailed):
			// The SDK text (request id, item dumps) stays out of the
			// caller's message; the reasons say what happened.
			return citadel.Conflict("%s: a condition of the transaction failed (%s)", what, strings.Join(reasons, ", "))
		case slices.Contains(reasons, reasonTransactionConflict):
			return citadel.Conflict("%s: a concurrent request changed the same items; retry (%s)", what, strings.Join(reasons, ", "))
		case slices.ContainsFunc(reasons, func(r string) bool { return slices.Contains(reasonsThrottled, r) }):
			return citadel.Retryable(wrapped)
		}
		return wrapped
	}
	var (
		throttle *types.ProvisionedThroughputExceededException
		limit    *types.RequestLimitExceeded
		internal *types.InternalServerError
	)
	if errors.As(err, &throttle) || errors.As(err, &limit) || errors.As(err, &internal) || awsx.IsThrottle(err) {
		return citadel.Retryable(wrapped)
	}
	return wrapped
}

// cancellationReasons lists the codes of a cancelled transaction's reasons,
// one per item of the transaction ("None" for an item that was fine).
func cancellationReasons(tc *types.TransactionCanceledException) []string {
	out := make([]string, 0, len(tc.CancellationReasons))
	for _, r := range tc.CancellationReasons {
		out = append(out, aws.ToString(r.Code))
	}
	return out
}

// isTransactionConflict reports whether err is a transaction cancelled only
// because a concurrent transaction touched its items: worth retrying as it
// is. A failed condition is not (it fails again).
func isTransactionConflict(err error) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	reasons := cancellationReasons(tc)
	return slices.Contains(reasons, reasonTransactionConflict) && !slices.Contains(reasons, reasonConditionalCheckFailed)
}

// RetryTransactionConflicts is a DynamoDB client option: the client's
// retryer also retries, with its backoff and attempt limit, a transaction
// cancelled by a TransactionConflict (two scans started at once on real
// DynamoDB). What is still in conflict after the retries is a 409 (wrapAWS).
func RetryTransactionConflicts(o *dynamodb.Options) {
	if o.Retryer == nil {
		return
	}
	if v2, ok := o.Retryer.(aws.RetryerV2); ok {
		o.Retryer = txConflictRetryerV2{v2}
		return
	}
	o.Retryer = txConflictRetryer{o.Retryer}
}

type txConflictRetryer struct{ aws.Retryer }

func (r txConflictRetryer) IsErrorRetryable(err error) bool {
	return isTransactionConflict(err) || r.Retryer.IsErrorRetryable(err)
}

type txConflictRetryerV2 struct{ aws.RetryerV2 }

func (r txConflictRetryerV2) IsErrorRetryable(err error) bool {
	return isTransactionConflict(err) || r.RetryerV2.IsErrorRetryable(err)
}
