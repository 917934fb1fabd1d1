package catalogimport

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// ObjectStore is the part of the S3 client the import uses.
type ObjectStore interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// ParseS3URL splits s3://bucket/prefix/ into bucket and prefix (ending in /).
func ParseS3URL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return "", "", citadel.Invalid("%q is not an s3://bucket/prefix/ URL", u)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// wanted reports whether an object under the prefix is one the import reads.
func wanted(rel string) bool {
	switch {
	case strings.HasSuffix(rel, ".json"), strings.HasSuffix(rel, ".yaml"):
		return true
	case rel == "config/config.py", rel == "VERSION":
		return true
	}
	return false
}

// Download copies the catalog files under an s3:// prefix to dir, keeping
// their paths relative to the prefix. A prefix without any is invalid.
func Download(ctx context.Context, client ObjectStore, source, dir string) error {
	n, err := download(ctx, client, source, dir)
	if err == nil && n == 0 {
		return citadel.Invalid("%s: no catalog files under this prefix", source)
	}
	return err
}

// download copies the catalog files under source to dir and says how many
// there were.
func download(ctx context.Context, client ObjectStore, source, dir string) (int, error) {
	bucket, prefix, err := ParseS3URL(source)
	if err != nil {
		return 0, err
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, citadel.Retryable(fmt.Errorf("list %s: %w", source, err))
		}
		for _, o := range page.Contents {
			rel := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if wanted(rel) {
				keys = append(keys, aws.ToString(o.Key))
			}
		}
	}
	if len(keys) == 0 {
		return 0, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, key := range keys {
		g.Go(func() error {
			rel := strings.TrimPrefix(key, prefix)
			if strings.Contains(rel, "..") {
				return citadel.Invalid("%s: object key %s escapes the prefix", source, key)
			}
			out, err := client.GetObject(gctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return citadel.Retryable(fmt.Errorf("get s3://%s/%s: %w", bucket, key, err))
			}
			defer out.Body.Close()
			dst := filepath.Join(dir, filepath.FromSlash(path.Clean(rel)))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			f, err := os.Create(dst)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, out.Body); err != nil {
				f.Close()
				return citadel.Retryable(fmt.Errorf("read s3://%s/%s: %w", bucket, key, err))
			}
			return f.Close()
		})
	}
	return len(keys), g.Wait()
}
