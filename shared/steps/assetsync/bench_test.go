package assetsync_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/assetsync"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// countCalls counts the AWS API calls made through cfg.
func countCalls(cfg aws.Config, n *atomic.Int64) aws.Config {
	c := cfg.Copy()
	c.APIOptions = append(append([]func(*middleware.Stack) error(nil), cfg.APIOptions...), func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("citadelCountCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				n.Add(1)
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
	return c
}

// parallel runs fn(0..n-1) on 16 goroutines and fails on the first error.
func parallel(b *testing.B, n int, fn func(i int) error) {
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSync10k syncs an account of 10,000 resources on moto (2,500
// each of security groups, log groups, SQS queues and SNS topics, in one
// region), then rescans it unchanged. It reports, per sync, the DynamoDB
// requests and write units and the AWS API calls.
//
//	scripts/with-moto.sh go test ./shared/steps/assetsync/ -run '^$' -bench Sync10k -benchtime 1x -timeout 60m
func BenchmarkSync10k(b *testing.B) {
	perType := 2500
	if n, err := strconv.Atoi(os.Getenv("CITADEL_BENCH_PER_TYPE")); err == nil && n > 0 {
		perType = n // smaller estates for quick comparisons
	}
	ctx := context.Background()
	cfg := testenv.Config(b)
	acct, account, role := testenv.Account(b, cfg)
	start := time.Now()
	ec, lc, qc, tc := ec2.NewFromConfig(acct), cloudwatchlogs.NewFromConfig(acct), sqs.NewFromConfig(acct), sns.NewFromConfig(acct)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	if err != nil {
		b.Fatal(err)
	}
	parallel(b, perType*4, func(i int) error {
		name := fmt.Sprintf("bench-%05d", i/4)
		var err error
		switch i % 4 {
		case 0:
			_, err = ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: vpc.Vpc.VpcId})
		case 1:
			_, err = lc.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/bench/" + name)})
		case 2:
			_, err = qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		case 3:
			_, err = tc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
		}
		return err
	})
	b.Logf("seeded %d resources in %s", perType*4, time.Since(start).Round(time.Second))

	var calls atomic.Int64
	store := testenv.Store(b)
	h := &assetsync.Handler{Store: store, AWS: countCalls(cfg, &calls)}
	plan := func(integ string) citadel.AssetSyncInput {
		return citadel.AssetSyncInput{Plan: citadel.PlanOutput{ScanID: "scan-bench", IntegrationID: integ, AccountID: account,
			RoleARN: role, ExternalID: "citadel-test", Regions: []string{east}}}
	}
	// Every first sync is of a new integration; every rescan of the one synced first.
	firsts := 0
	run := func(b *testing.B, integ func() string, want func(citadel.AssetSyncOutput) bool) {
		for b.Loop() {
			calls.Store(0)
			id := integ()
			out, err := h.Handle(ctx, plan(id))
			if err != nil {
				b.Fatal(err)
			}
			if !want(out) {
				b.Fatalf("unexpected output %+v", out)
			}
			b.ReportMetric(float64(out.TotalAssets), "assets")
			b.ReportMetric(float64(out.AssetsCreated+out.AssetsUpdated), "asset-writes")
			b.ReportMetric(float64(out.Usage.Requests), "ddb-requests")
			b.ReportMetric(out.Usage.WriteUnits, "write-units")
			b.ReportMetric(out.Usage.ReadUnits, "read-units")
			b.ReportMetric(float64(calls.Load()), "aws-calls")
			b.StopTimer() // the estimate is not part of a sync
			// What DynamoDB would charge for reading the stored state back
			// (moto reports about one unit per page): the diff reads every
			// asset item once, eventually consistent, 0.5 unit per 4 KB.
			states, err := store.AssetStates(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			bytes := 0
			for _, s := range states {
				bytes += s.ItemBytes
			}
			b.ReportMetric(float64(bytes)/8192, "est-diff-read-units")
			b.StartTimer()
		}
	}
	b.Run("first", func(b *testing.B) {
		run(b, func() string { firsts++; return fmt.Sprintf("int-bench-%d", firsts) },
			func(o citadel.AssetSyncOutput) bool { return o.AssetsCreated >= perType*4 && len(o.Errors) == 0 })
	})
	b.Run("rescan", func(b *testing.B) {
		run(b, func() string { return "int-bench-1" }, func(o citadel.AssetSyncOutput) bool {
			return o.AssetsCreated == 0 && o.AssetsUpdated == 0 && o.AssetsDeactivated == 0 && len(o.Errors) == 0
		})
	})
}
