package demoestate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The local server forgets everything when it stops, so the demo keeps
// Citadel's own data between runs in a folder: the table's items (DynamoDB
// JSON, one item a line) and the bucket's offloaded values (blobs/).
const (
	TableFile = "table.jsonl"
	BlobsDir  = "blobs"
	// BlobPrefix is where the store offloads large values in the bucket.
	BlobPrefix = "blobs/"
)

// SaveState writes every item of table and every object under blobs/ of
// bucket into dir (replacing what was there). It returns the items and
// objects saved.
func SaveState(ctx context.Context, db *dynamodb.Client, table string, s3c *s3.Client, bucket, dir string) (items, blobs int, err error) {
	if err := os.MkdirAll(filepath.Join(dir, BlobsDir), 0o755); err != nil {
		return 0, 0, fmt.Errorf("save state: %w", err)
	}
	tmp := filepath.Join(dir, TableFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return 0, 0, fmt.Errorf("save state: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			f.Close()
			return items, 0, fmt.Errorf("save state: scan %s: %w", table, err)
		}
		for _, it := range page.Items {
			b, err := json.Marshal(toJSON(&types.AttributeValueMemberM{Value: it}))
			if err != nil {
				f.Close()
				return items, 0, fmt.Errorf("save state: %w", err)
			}
			w.Write(b)
			w.WriteByte('\n')
			items++
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return items, 0, fmt.Errorf("save state: %w", err)
	}
	if err := f.Close(); err != nil {
		return items, 0, fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, TableFile)); err != nil {
		return items, 0, fmt.Errorf("save state: %w", err)
	}
	op := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(BlobPrefix)})
	for op.HasMorePages() {
		page, err := op.NextPage(ctx)
		if err != nil {
			return items, blobs, fmt.Errorf("save state: list blobs: %w", err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				return items, blobs, fmt.Errorf("save state: get %s: %w", key, err)
			}
			b, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				return items, blobs, fmt.Errorf("save state: get %s: %w", key, err)
			}
			path := filepath.Join(dir, BlobsDir, filepath.FromSlash(strings.TrimPrefix(key, BlobPrefix)))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return items, blobs, fmt.Errorf("save state: %w", err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				return items, blobs, fmt.Errorf("save state: %w", err)
			}
			blobs++
		}
	}
	return items, blobs, nil
}

// RestoreState puts the items and blobs saved in dir back into table and
// bucket. A folder without a saved table restores nothing (0, 0, nil).
func RestoreState(ctx context.Context, db *dynamodb.Client, table string, s3c *s3.Client, bucket, dir string) (items, blobs int, err error) {
	b, err := os.ReadFile(filepath.Join(dir, TableFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("restore state: %w", err)
	}
	var all []map[string]types.AttributeValue
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return 0, 0, fmt.Errorf("restore state: %s line %d: %w", TableFile, i+1, err)
		}
		av, err := fromJSON(raw)
		if err != nil {
			return 0, 0, fmt.Errorf("restore state: %s line %d: %w", TableFile, i+1, err)
		}
		m, ok := av.(*types.AttributeValueMemberM)
		if !ok {
			return 0, 0, fmt.Errorf("restore state: %s line %d: not an item", TableFile, i+1)
		}
		all = append(all, m.Value)
	}
	if err := batchWrite(ctx, db, table, all); err != nil {
		return 0, 0, err
	}
	root := filepath.Join(dir, BlobsDir)
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, path)
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(BlobPrefix + filepath.ToSlash(rel)), Body: bytes.NewReader(body)})
		if err != nil {
			return err
		}
		blobs++
		return nil
	})
	if err != nil {
		return len(all), blobs, fmt.Errorf("restore state: blobs: %w", err)
	}
	return len(all), blobs, nil
}

// batchWrite puts items 25 at a time on 4 workers, retrying unprocessed ones.
func batchWrite(ctx context.Context, db *dynamodb.Client, table string, items []map[string]types.AttributeValue) error {
	batches := make(chan []map[string]types.AttributeValue)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				reqs := make([]types.WriteRequest, len(batch))
				for i, it := range batch {
					reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
				}
				for attempt := 0; len(reqs) > 0; attempt++ {
					out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
					if err != nil {
						errs <- fmt.Errorf("restore state: batch write: %w", err)
						return
					}
					reqs = out.UnprocessedItems[table]
					if attempt > 10 {
						errs <- fmt.Errorf("restore state: %d items stay unprocessed", len(reqs))
						return
					}
					if len(reqs) > 0 {
						time.Sleep(time.Duration(50<<min(attempt, 5)) * time.Millisecond)
					}
				}
			}
		}()
	}
	var err error
loop:
	for i := 0; i < len(items); i += 25 {
		select {
		case batches <- items[i:min(i+25, len(items))]:
		case err = <-errs:
			break loop
		}
	}
	close(batches)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// toJSON is an attribute value in DynamoDB's JSON form.
func toJSON(av types.AttributeValue) map[string]any {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": v.Value} // base64 by encoding/json
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *types.AttributeValueMemberBS:
		return map[string]any{"BS": v.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, x := range v.Value {
			l[i] = toJSON(x)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(v.Value))
		for k, x := range v.Value {
			m[k] = toJSON(x)
		}
		return map[string]any{"M": m}
	}
	return map[string]any{"NULL": true}
}

// fromJSON reads an attribute value in DynamoDB's JSON form.
func fromJSON(raw map[string]json.RawMessage) (types.AttributeValue, error) {
	if len(raw) != 1 {
		return nil, fmt.Errorf("an attribute value has exactly one type key, got %d", len(raw))
	}
	for k, v := range raw {
		return decodeTyped(k, v)
	}
	return nil, nil
}

func decodeTyped(k string, v json.RawMessage) (types.AttributeValue, error) {
	switch k {
	case "S":
		var s string
		err := json.Unmarshal(v, &s)
		return &types.AttributeValueMemberS{Value: s}, err
	case "N":
		var s string
		err := json.Unmarshal(v, &s)
		return &types.AttributeValueMemberN{Value: s}, err
	case "B":
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		return &types.AttributeValueMemberB{Value: b}, err
	case "BOOL":
		var b bool
		err := json.Unmarshal(v, &b)
		return &types.AttributeValueMemberBOOL{Value: b}, err
	case "NULL":
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case "SS":
		var ss []string
		err := json.Unmarshal(v, &ss)
		return &types.AttributeValueMemberSS{Value: ss}, err
	case "NS":
		var ss []string
		err := json.Unmarshal(v, &ss)
		return &types.AttributeValueMemberNS{Value: ss}, err
	case "BS":
		var bs [][]byte
		err := json.Unmarshal(v, &bs)
		return &types.AttributeValueMemberBS{Value: bs}, err
	case "L":
		var l []map[string]json.RawMessage
		if err := json.Unmarshal(v, &l); err != nil {
			return nil, err
		}
		out := make([]types.AttributeValue, len(l))
		for i, x := range l {
			av, err := fromJSON(x)
			if err != nil {
				return nil, err
			}
			out[i] = av
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case "M":
		var m map[string]map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, err
		}
		out := make(map[string]types.AttributeValue, len(m))
		for k, x := range m {
			av, err := fromJSON(x)
			if err != nil {
				return nil, err
			}
			out[k] = av
		}
		return &types.AttributeValueMemberM{Value: out}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %q", k)
}
