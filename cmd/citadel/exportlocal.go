package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/exportjob"
	"github.com/citadelsecure/citadel/shared/localrun"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// localExportStateMachine is the export state machine of `citadel serve`.
const localExportStateMachine = "arn:aws:states:us-east-1:000000000000:stateMachine:citadel-local-export"

// exportAttempts is how often the local export state machine tries the
// job on a retryable error (the deployed one's Retry, infra/exports.go).
const exportAttempts = 4

// exportJob is the local export state machine, as infra/exports.go
// defines the deployed one: the export job through the step contract,
// retried on RetryableError; when it fails for good, the job again with the
// error (the export recorded failed), and the execution fails.
func (r *runner) exportJob(s3c *s3.Client) localrun.Job {
	store := ddb.New(r.cfg, r.table, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: r.bucket}))
	env := stepfn.Env{Log: r.log}.Defaults()
	h := &exportjob.Handler{Store: store, S3: s3c, Bucket: r.bucket, Env: env}
	step := stepfn.New(exportjob.StepName, h.Handle, env, store)
	return func(ctx context.Context, input []byte) error {
		var in citadel.ExportInput
		if err := json.Unmarshal(input, &in); err != nil {
			return fmt.Errorf("export: input: %w", err)
		}
		var err error
		for attempt := 1; attempt <= exportAttempts; attempt++ {
			if _, err = step.Run(ctx, in); err == nil || stepfn.ErrorType(err) != citadel.ErrorTypeRetryable {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		if err == nil {
			return nil
		}
		failed := citadel.ExportInput{ExportID: in.ExportID, Error: &citadel.StepError{Error: stepfn.ErrorType(err), Cause: err.Error()}}
		if _, rerr := step.Run(ctx, failed); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return err
	}
}
