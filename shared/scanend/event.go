package scanend

import (
	"encoding/json"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// The EventBridge event Step Functions sends when an execution's status
// changes: the reconciler's rule matches these, for the scan state machine
// and the end states no Catch sees.
const (
	EventSource     = "aws.states"
	EventDetailType = "Step Functions Execution Status Change"
)

// EndedStatuses are the execution statuses the reconciler's rule matches.
var EndedStatuses = []sfntypes.ExecutionStatus{
	sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusTimedOut, sfntypes.ExecutionStatusAborted,
}

// EventPattern is the reconciler rule's pattern for the state machines
// (the scan's and the organization scan's; the CDK app deploys the same
// map, with the state machines' ARNs as tokens).
func EventPattern(stateMachineARNs ...string) map[string]any {
	statuses := make([]string, len(EndedStatuses))
	for i, s := range EndedStatuses {
		statuses[i] = string(s)
	}
	return map[string]any{
		"source":      []string{EventSource},
		"detail-type": []string{EventDetailType},
		"detail": map[string]any{
			"stateMachineArn": stateMachineARNs,
			"status":          statuses,
		},
	}
}

// EventPatternJSON is EventPattern as the JSON PutRule takes.
func EventPatternJSON(stateMachineARNs ...string) string {
	b, _ := json.Marshal(EventPattern(stateMachineARNs...))
	return string(b)
}

// ExecutionDetail is the detail of an execution status change event.
// StartDate and StopDate are milliseconds since the epoch.
type ExecutionDetail struct {
	ExecutionARN    string                   `json:"executionArn"`
	StateMachineARN string                   `json:"stateMachineArn"`
	Name            string                   `json:"name"`
	Status          sfntypes.ExecutionStatus `json:"status"`
	StartDate       int64                    `json:"startDate"`
	StopDate        *int64                   `json:"stopDate"`
	Input           *string                  `json:"input"`
	Error           *string                  `json:"error"`
	Cause           *string                  `json:"cause"`
}

// Stopped is when the execution stopped (zero if it has not).
func (d ExecutionDetail) Stopped() time.Time {
	if d.StopDate == nil {
		return time.Time{}
	}
	return time.UnixMilli(*d.StopDate).UTC()
}
