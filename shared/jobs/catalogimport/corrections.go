package catalogimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/shared/catalog"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// MaxCorrectionsFile bounds a corrections file, in bytes.
const MaxCorrectionsFile = 8 << 20

// corrections reads the corrections file, parses it and checks it against
// the catalog being imported; at is the time of corrections that give none.
// Nothing is written.
func (h *Handler) corrections(ctx context.Context, source string, cat *catalog.Catalog, at time.Time) ([]citadel.LinkCorrection, error) {
	b, err := h.readCorrections(ctx, source)
	if err != nil {
		return nil, err
	}
	return catalog.CheckCorrections(source, b, at, cat)
}

func (h *Handler) readCorrections(ctx context.Context, source string) ([]byte, error) {
	if strings.HasPrefix(source, "s3://") {
		if h.S3 == nil {
			return nil, citadel.Invalid("corrections file %s: no S3 client configured", source)
		}
		return ReadObject(ctx, h.S3, source, MaxCorrectionsFile)
	}
	f, err := os.Open(source)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, citadel.Invalid("corrections file %s: no such file", source)
		}
		return nil, citadel.Invalid("corrections file %s: %v", source, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, citadel.Invalid("corrections file %s: a directory, not a file", source)
	}
	return readAtMost(f, source, MaxCorrectionsFile, false)
}

// ParseS3Object splits s3://bucket/key into bucket and key (not a prefix:
// the key is not empty and does not end in /).
func ParseS3Object(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	bucket, key, _ = strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" || strings.HasSuffix(key, "/") {
		return "", "", citadel.Invalid("%q is not an s3://bucket/key URL of an object", u)
	}
	return bucket, key, nil
}

// ReadObject reads one S3 object of at most max bytes. A missing object or
// bucket is an invalid-input error; other failures are retryable.
func ReadObject(ctx context.Context, client ObjectStore, u string, max int64) ([]byte, error) {
	bucket, key, err := ParseS3Object(u)
	if err != nil {
		return nil, err
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var noKey *types.NoSuchKey
		var api smithy.APIError
		if errors.As(err, &noKey) || errors.As(err, &api) && api.ErrorCode() == "NoSuchBucket" {
			return nil, citadel.Invalid("corrections file %s: no such object", u)
		}
		return nil, citadel.Retryable(fmt.Errorf("get %s: %w", u, err))
	}
	defer out.Body.Close()
	return readAtMost(out.Body, u, max, true)
}

// readAtMost reads r whole unless it holds more than max bytes.
func readAtMost(r io.Reader, name string, max int64, retryable bool) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		if retryable {
			return nil, citadel.Retryable(fmt.Errorf("read %s: %w", name, err))
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, citadel.Invalid("corrections file %s: over %d bytes", name, max)
	}
	return b, nil
}

// applyCorrections writes the file's corrections that differ from the
// stored ones of the same check and SCF control. At is not compared: a
// correction whose action, reason and by are unchanged keeps its stored
// time, so importing the same file again writes nothing. Stored corrections
// the file does not name are kept (they are users' too, made through the
// API).
func (h *Handler) applyCorrections(ctx context.Context, file []citadel.LinkCorrection, w *citadel.CatalogWrites) error {
	if len(file) == 0 {
		return nil
	}
	stored, err := h.Store.ListLinkCorrections(ctx)
	if err != nil {
		return err
	}
	type pair struct{ check, scf string }
	byPair := make(map[pair]citadel.LinkCorrection, len(stored))
	for _, c := range stored {
		byPair[pair{c.CheckID, c.SCFID}] = c
	}
	var changed []citadel.LinkCorrection
	for _, c := range file {
		o, ok := byPair[pair{c.CheckID, c.SCFID}]
		if ok && o.Action == c.Action && o.Reason == c.Reason && o.By == c.By {
			continue
		}
		if ok {
			h.Logger().InfoContext(ctx, "corrections file replaces a stored link correction",
				"check", c.CheckID, "scf", c.SCFID, "stored_action", o.Action, "stored_by", o.By, "stored_at", o.At,
				"action", c.Action, "by", c.By)
		}
		changed = append(changed, c)
	}
	w.Corrections = len(changed)
	return h.Store.PutLinkCorrections(ctx, changed)
}
