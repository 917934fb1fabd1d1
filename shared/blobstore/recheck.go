package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// ObjectGetter is what reading one object needs of S3.
type ObjectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// maxRecheckFileBytes bounds a re-check's file: MaxRecheckResources ARNs of
// at most 2 KB each, and room to spare.
const maxRecheckFileBytes = 2 << 20

// ReadRecheckFile reads a re-check's resources (every step of a re-check
// reads them here). A missing or invalid file is not retryable: the buffer
// writes it before it starts the execution; a failed read is.
func ReadRecheckFile(ctx context.Context, client ObjectGetter, bucket string, rc *citadel.Recheck) (citadel.RecheckFile, error) {
	if rc == nil || rc.Key == "" {
		return citadel.RecheckFile{}, citadel.Invalid("a re-check without the key of its resources file")
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(rc.Key)})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return citadel.RecheckFile{}, citadel.NotFound("re-check resources s3://%s/%s not found", bucket, rc.Key)
	}
	if err != nil {
		return citadel.RecheckFile{}, citadel.Retryable(fmt.Errorf("get s3://%s/%s: %w", bucket, rc.Key, err))
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxRecheckFileBytes+1))
	if err != nil {
		return citadel.RecheckFile{}, citadel.Retryable(fmt.Errorf("read s3://%s/%s: %w", bucket, rc.Key, err))
	}
	if len(b) > maxRecheckFileBytes {
		return citadel.RecheckFile{}, citadel.Invalid("re-check resources s3://%s/%s: larger than %d bytes", bucket, rc.Key, maxRecheckFileBytes)
	}
	f, err := citadel.ParseRecheckFile(b)
	if err != nil {
		return f, fmt.Errorf("re-check resources s3://%s/%s: %w", bucket, rc.Key, err)
	}
	if f.Recheck(rc.Key).Resources != rc.Resources {
		return f, citadel.Invalid("re-check resources s3://%s/%s: %d resources, the scan says %d", bucket, rc.Key, len(f.ARNs), rc.Resources)
	}
	return f, nil
}
