package lambdatest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// throttledEvent is, per function, the sample event whose first AWS call
// the test throttles (a function not listed uses its first sample event).
var throttledEvent = map[string]string{
	"api":            "get-scan.json",
	"asset-sync":     "scan.json",
	"catalog-import": "s3.json",
	"check-results":  "scan.json",
	"finalize":       "succeeded.json",
	"plan":           "api.json",
	"reconcile":      "failed.json",
}

// noAWSCall are the functions that call no AWS service (the user pool's
// token trigger decides from its event alone): nothing to throttle, so only
// their refused event is checked.
var noAWSCall = map[string]bool{"token-scopes": true}

// Every function's built bootstrap, under the Lambda Runtime Interface
// Emulator against moto behind a throttling proxy, answers a throttled AWS
// call with errorType RetryableError (the name the state machine's Retry
// matches), whatever the step wrapped it in; the API answers 503 with
// Retry-After. A refused event keeps its own error type.
func TestEveryFunctionReportsThrottlingAsRetryable(t *testing.T) {
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	_, bucket := testenv.Bucket(t, cfg)
	throttle := lambdatest.Throttle(t, testenv.Endpoint(t))
	env := map[string]string{
		citadel.EnvTable: table, citadel.EnvBucket: bucket, citadel.EnvEventBus: "default",
		citadel.EnvStateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:citadel",
		citadel.EnvSchedulerGroup:  "default", citadel.EnvSchedulerRole: "arn:aws:iam::123456789012:role/citadel-scheduler",
		citadel.EnvFolderID: "default",
		"AWS_ENDPOINT_URL":  throttle.URL,
		// No retry in the client: the throttled call reaches the step at once.
		"AWS_MAX_ATTEMPTS": "1",
	}
	refusedEvent := map[string]string{}
	for _, r := range refused {
		refusedEvent[r.function] = r.event
	}
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		name := d.Name()
		t.Run(name, func(t *testing.T) {
			event := sampleEvent(t, root, name)
			fn := lambdatest.Start(t, root, lambdatest.Build(t, root, name), env)
			ctx := context.Background()
			if noAWSCall[name] {
				checkRefused(t, ctx, fn, name, refusedEvent)
				return
			}

			throttle.Set(nil, 0, 0)
			resp, err := fn.Invoke(ctx, event)
			throttle.Off()
			if err != nil {
				t.Fatal(err)
			}
			n, ops := throttle.Throttled()
			if n == 0 {
				t.Fatalf("the function made no AWS call to throttle: %s", resp.Payload)
			}
			if name == "api" {
				var out struct {
					StatusCode int               `json:"statusCode"`
					Headers    map[string]string `json:"headers"`
				}
				if err := json.Unmarshal(resp.Payload, &out); err != nil || out.StatusCode != 503 || out.Headers["Retry-After"] == "" {
					t.Errorf("throttled API answer = %s, want 503 with Retry-After", resp.Payload)
				}
			} else {
				if resp.ErrorType != citadel.ErrorTypeRetryable {
					t.Errorf("throttled (%v): errorType %q (%s), want %s", ops, resp.ErrorType, resp.ErrorMsg, citadel.ErrorTypeRetryable)
				}
				if !strings.Contains(resp.ErrorMsg, "Throttl") && !strings.Contains(resp.ErrorMsg, "SlowDown") && !strings.Contains(resp.ErrorMsg, "Rate") {
					t.Errorf("the message lost the cause: %q", resp.ErrorMsg)
				}
			}

			checkRefused(t, ctx, fn, name, refusedEvent)
		})
	}
}

// checkRefused: the function refuses its refused event (bench_test.go's
// list) with an error type of its own, not a retryable one.
func checkRefused(t *testing.T, ctx context.Context, fn *lambdatest.Function, name string, refusedEvent map[string]string) {
	t.Helper()
	bad, ok := refusedEvent[name]
	if !ok {
		t.Fatalf("no refused event for %s in bench_test.go's list", name)
	}
	resp, err := fn.Invoke(ctx, []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || resp.ErrorType == citadel.ErrorTypeRetryable {
		t.Errorf("refused event: errorType %q (%s), want its own non-retryable type", resp.ErrorType, resp.ErrorMsg)
	}
}

func sampleEvent(t *testing.T, root, function string) []byte {
	t.Helper()
	name := throttledEvent[function]
	if name == "" {
		files, _ := filepath.Glob(filepath.Join(root, "events", function, "*.json"))
		slices.Sort(files)
		if len(files) == 0 {
			t.Fatalf("functions/%s has no sample event in events/%s", function, function)
		}
		name = filepath.Base(files[0])
	}
	return lambdatest.Event(t, root, function, name)
}
