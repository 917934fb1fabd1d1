// Package scanend makes every scan reach an end state and says why in
// words: the end state of an ended Step Functions execution, the cause of a
// failed step without raw SDK text, request ids or ARNs (those go to the
// logs), the event pattern of the reconciler's EventBridge rule, taking over
// the lock of a scan whose execution has ended (or never started), and
// cancelling a scan. The API, the plan step, finalize and the reconciler all
// use it, so a scan ends the same way whoever notices first.
package scanend

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// ExecutionTimeout is the scan state machine's execution timeout (the CDK
// app sets it; no Catch sees it, the reconciler does).
const ExecutionTimeout = 6 * time.Hour

// OrgExecutionTimeout is the organization state machine's: its members'
// scans run a few at a time, each up to ExecutionTimeout.
const OrgExecutionTimeout = 7 * 24 * time.Hour

// StartBound is how long a queued scan may hold its integration's lock
// without an execution before a new start takes the lock over.
const StartBound = 15 * time.Minute

// ExecutionARN is the ARN of the execution of scanID on the state machine
// (the execution is named after the scan id).
func ExecutionARN(stateMachineARN, scanID string) (string, error) {
	prefix, name, ok := strings.Cut(stateMachineARN, ":stateMachine:")
	if !ok || name == "" || strings.Contains(name, ":") {
		return "", citadel.Invalid("%q is not a state machine ARN", stateMachineARN)
	}
	return prefix + ":execution:" + name + ":" + scanID, nil
}

// EndStatus is the scan status for an execution that ended with status
// (FAILED, TIMED_OUT, ABORTED, or SUCCEEDED without finalize having
// recorded it); ok is false for an execution that has not ended.
func EndStatus(status sfntypes.ExecutionStatus) (citadel.ScanStatus, bool) {
	switch status {
	case sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusSucceeded:
		return citadel.ScanFailed, true
	case sfntypes.ExecutionStatusTimedOut:
		return citadel.ScanTimedOut, true
	case sfntypes.ExecutionStatusAborted:
		return citadel.ScanCancelled, true
	}
	return "", false
}

// ExecutionCause says in words why an execution ended with status, in step
// (the step running then, "" if unknown), with the execution's own error
// and cause for a failure.
func ExecutionCause(status sfntypes.ExecutionStatus, step string, e citadel.StepError) string {
	in := ""
	if step != "" {
		in = " in step " + step
	}
	switch status {
	case sfntypes.ExecutionStatusTimedOut:
		return fmt.Sprintf("the scan hit the %s execution timeout%s", hours(ExecutionTimeout), in)
	case sfntypes.ExecutionStatusAborted:
		return "the scan's execution was stopped" + strings.Replace(in, " in ", " during ", 1) + " outside Citadel"
	case sfntypes.ExecutionStatusSucceeded:
		return "the scan's execution ended without recording its outcome"
	}
	if step != "" {
		return StepCause(step, e)
	}
	if w := Words(e); w != "" {
		return clip("the scan's execution failed: " + w)
	}
	return "the scan's execution failed"
}

func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d-hour", int(d/time.Hour))
	}
	return d.String()
}

// MaxCauseLength bounds the failure cause kept on a scan.
const MaxCauseLength = 1000

// StepCause says which step failed and why: "the prowler step failed: the
// Prowler task exited 1: Essential container in task exited".
func StepCause(step string, e citadel.StepError) string {
	if step == "" {
		step = "a"
	} else {
		step = "the " + step
	}
	line := step + " step failed"
	if w := Words(e); w != "" {
		line += ": " + w
	}
	return clip(line)
}

func clip(s string) string {
	if len(s) > MaxCauseLength {
		s = s[:MaxCauseLength]
	}
	return s
}

// Words turns a Catch's error output into one line of words: a Lambda
// error's message (its Cause is {"errorMessage", "errorType"}), an ECS
// task's container exit and stopped reason, or a Step Functions error's
// meaning; raw SDK text, request ids and ARNs are left out.
func Words(e citadel.StepError) string {
	cause := strings.TrimSpace(e.Cause)
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	var task struct {
		StoppedReason string `json:"StoppedReason"`
		Containers    []struct {
			Name     string `json:"Name"`
			ExitCode *int   `json:"ExitCode"`
			Reason   string `json:"Reason"`
		} `json:"Containers"`
	}
	var parts []string
	switch {
	case json.Unmarshal([]byte(cause), &lambdaErr) == nil && (lambdaErr.ErrorMessage != "" || lambdaErr.ErrorType != ""):
		if lambdaErr.ErrorType == citadel.ErrorTypeRetryable || e.Error == citadel.ErrorTypeRetryable {
			parts = append(parts, "AWS kept refusing or throttling a request after every retry")
		}
		parts = append(parts, plain(lambdaErr.ErrorMessage))
	case json.Unmarshal([]byte(cause), &task) == nil && (task.StoppedReason != "" || len(task.Containers) > 0):
		for _, c := range task.Containers {
			if c.ExitCode != nil && *c.ExitCode != 0 {
				name := c.Name
				if name == "" || name == citadel.StepProwler {
					name = "Prowler"
				}
				parts = append(parts, fmt.Sprintf("the %s task exited %d", name, *c.ExitCode))
			}
			if c.Reason != "" {
				parts = append(parts, plain(c.Reason))
			}
		}
		if task.StoppedReason != "" {
			parts = append(parts, plain(task.StoppedReason))
		}
	default:
		if m, ok := stateErrors[e.Error]; ok {
			parts = append(parts, m)
		} else if e.Error != "" {
			parts = append(parts, plain(e.Error))
		}
		parts = append(parts, plain(cause))
	}
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ": ")
}

// stateErrors are Step Functions' own error names, in words.
var stateErrors = map[string]string{
	"States.Timeout":                  "the step ran past its timeout",
	"States.HeartbeatTimeout":         "the step stopped reporting",
	"States.TaskFailed":               "the task failed",
	"States.Permissions":              "the state machine is not allowed to run the step",
	"States.Runtime":                  "the state machine could not run the step",
	"Sandbox.Timedout":                "the function ran past its timeout",
	"Lambda.Unknown":                  "the function ended without answering (out of memory or time)",
	"Lambda.TooManyRequestsException": "Lambda kept throttling the step after every retry",
	"Lambda.ServiceException":         "Lambda kept failing to run the step after every retry",
	"ECS.AmazonECSException":          "ECS could not start the Prowler task after every retry",
	citadel.ErrorTypeRetryable:        "AWS kept refusing or throttling a request after every retry",
}

// StepAtEnd is the step an execution was in when it ended, from the steps
// the step contract recorded: the last one in pipeline order if it failed
// or still runs, else the one after the last that succeeded (the Prowler
// task records nothing itself); "" when nothing is recorded.
func StepAtEnd(steps []citadel.StepProgress) string {
	last, at := -1, citadel.StepProgress{}
	order := citadel.OrderOf(steps)
	for _, st := range steps {
		if i := slices.Index(order, st.Step); i > last {
			last, at = i, st
		}
	}
	switch {
	case last < 0:
		return ""
	case at.Status == citadel.StepFailed || at.Status == citadel.StepRunning || at.Status == citadel.StepRetrying:
		return at.Step
	}
	step, _ := citadel.CurrentStep(steps)
	return step
}
