package lambdatest_test

import (
	"context"
	"os"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// refused is, per function, an event its handler refuses before any AWS
// call: the first response then measures the cold start alone (the
// emulator, the runtime, main's config and clients, one trivial invoke).
var refused = []struct{ function, event string }{
	{"api", `["not", "a", "request"]`},
	{"asset-sync", `{"plan":{}}`},
	{"catalog-import", `{"prowler_source":"/nonexistent/prowler"}`},
	{"check-results", `{"plan":{}}`},
	{"controls", `{"plan":{}}`},
	{"evidence", `{"plan":{}}`},
	{"exception-sweep", `{"detail-type":"Exception Approved","detail":{}}`},
	{"export", `{"export_id":""}`},
	{"finalize", `{"scan":{}}`},
	{"org-member", `{"integration_id":""}`},
	{"org-plan", `{"scan":{}}`},
	{"org-summary", `{"scan":{}}`},
	{"org-sync", `{"integration_id":""}`},
	{"plan", `{"scan":{}}`},
	{"policies", `{"plan":{}}`},
	{"recheck", `{"Records":"not a list"}`},
	{"reconcile", `{"source":"aws.states","detail-type":"Step Functions Execution Status Change","detail":{"status":"FAILED"}}`},
	{"token-scopes", `{"version":"1","triggerSource":"TokenGeneration_HostedAuth"}`},
}

// BenchmarkColdStart starts each function's built bootstrap (linux/arm64,
// as deployed) under the Lambda Runtime Interface Emulator and times one
// cold start: ns/op is from Start to the first response. Off arm64 the
// bootstrap runs through qemu-aarch64, which adds its own start-up. The
// bootstrap's size is reported as bytes.
func BenchmarkColdStart(b *testing.B) {
	root := testenv.RepoRoot()
	env := map[string]string{
		citadel.EnvTable: "citadel-bench", citadel.EnvBucket: "citadel-bench", citadel.EnvEventBus: "citadel-bench",
		citadel.EnvStateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:citadel-bench",
		citadel.EnvSchedulerGroup:  "citadel-bench", citadel.EnvSchedulerRole: "arn:aws:iam::123456789012:role/citadel-bench",
		citadel.EnvFolderID: "default",
	}
	if os.Getenv("AWS_REGION") == "" {
		b.Setenv("AWS_REGION", "us-east-1")
	}
	built := map[string]string{}
	for _, tc := range refused {
		b.Run(tc.function, func(sb *testing.B) {
			bootstrap, ok := built[tc.function]
			if !ok { // once, in the parent's folder: the sub-benchmark runs more than once
				bootstrap = lambdatest.Build(b, root, tc.function)
				built[tc.function] = bootstrap
			}
			b := sb
			st, err := os.Stat(bootstrap)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				// Each emulator is stopped when the sub-benchmark ends.
				fn := lambdatest.Start(b, root, bootstrap, env)
				resp, err := fn.Invoke(ctx, []byte(tc.event))
				if err != nil {
					b.Fatal(err)
				}
				if resp.ErrorType == "" {
					b.Fatalf("%s: got %s, want the function error of a refused event", tc.function, resp.Payload)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(st.Size()), "bytes")
		})
	}
}
