package assetsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
)

// The fan-out (citadel.AssetSyncFanOut): past FanOutRegions regions the
// sync's first call only plans an item per region and one for the global
// collectors; each item (collectItem, a call of its own: the state
// machine's Map, or the local runner's) collects its scopes and writes the
// results to S3; the apply (applyFanOut) reads them back and runs the one
// diff (apply) over their union. An item that failed, or whose file is
// gone, counts as its collectors failing: its scopes are not collected, so
// nothing in them is deactivated, as a failing collector leaves its assets.

// Objects is what the fan-out needs of S3 (*s3.Client).
type Objects interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// fanOut is the plan of a sync of regions, when it fans out.
func (h *Handler) fanOut(p citadel.PlanOutput, regions []string) (citadel.AssetSyncFanOut, bool) {
	limit := h.FanOutRegions
	if limit <= 0 {
		limit = citadel.AssetSyncFanOutRegions
	}
	if !h.FanOut || h.Objects == nil || p.Bucket == "" || p.ScanID == "" || len(regions) <= limit {
		return citadel.AssetSyncFanOut{}, false
	}
	fo := citadel.AssetSyncFanOut{Regions: regions, Items: []citadel.AssetSyncItem{{Region: citadel.AssetSyncGlobalItem, Regions: regions}}}
	for _, r := range regions {
		fo.Items = append(fo.Items, citadel.AssetSyncItem{Region: r})
	}
	return fo, true
}

// part is an item's collectors and the regions they collect: the global
// collectors over every region of the sync, or a region's regional ones.
func part(reg inventory.Registry, item citadel.AssetSyncItem) (inventory.Registry, []string) {
	global := item.Region == citadel.AssetSyncGlobalItem
	var cs inventory.Registry
	for _, c := range reg {
		if c.Global() == global {
			cs = append(cs, c)
		}
	}
	if global {
		return cs, item.Regions
	}
	return cs, []string{item.Region}
}

// collectItem runs an item's collectors and writes their results to
// scans/<scan>/assets/<region>.json; its output names the file.
func (h *Handler) collectItem(ctx context.Context, p citadel.PlanOutput, item citadel.AssetSyncItem) (citadel.AssetSyncOutput, error) {
	if item.Region != citadel.AssetSyncGlobalItem && !citadel.ValidRegion(item.Region) {
		return citadel.AssetSyncOutput{}, citadel.Invalid("asset sync: item region %q is not a region name", item.Region)
	}
	for _, r := range item.Regions {
		if !citadel.ValidRegion(r) {
			return citadel.AssetSyncOutput{}, citadel.Invalid("asset sync: item region %q is not a region name", r)
		}
	}
	if h.Objects == nil || p.Bucket == "" || p.ScanID == "" {
		return citadel.AssetSyncOutput{}, citadel.Invalid("asset sync: an item of scan %q needs the scan's bucket (%q)", p.ScanID, p.Bucket)
	}
	log := h.logger(p).With("item", item.Region)
	cfg, err := h.session(ctx, p)
	if err != nil {
		return citadel.AssetSyncOutput{}, err
	}
	cs, regions := part(h.registry(), item)
	opt := h.Options
	opt.Log = log
	start := time.Now()
	results := inventory.Run(collectContext(ctx, h.Reserve), cfg, p.AccountID, regions, cs, opt)
	if err := ctx.Err(); err != nil {
		return citadel.AssetSyncOutput{}, citadel.Retryable(fmt.Errorf("asset sync: item %s: %w", item.Region, err))
	}
	body, err := encodeResults(results)
	if err != nil {
		return citadel.AssetSyncOutput{}, fmt.Errorf("asset sync: item %s: %w", item.Region, err)
	}
	key := citadel.ScanObjectKey(p.ScanID, citadel.AssetSyncScopeFile(item.Region))
	if _, err := h.Objects.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json")}); err != nil {
		return citadel.AssetSyncOutput{}, awsErr(fmt.Errorf("asset sync: item %s: put s3://%s/%s: %w", item.Region, p.Bucket, key, err))
	}
	errs := inventory.Errors(results)
	log.Info("asset sync item done", "collectors", len(results), "failed", len(errs), "bytes", len(body), "duration_ms", time.Since(start).Milliseconds())
	return citadel.AssetSyncOutput{Errors: errs,
		Scope: &citadel.AssetSyncScope{Region: item.Region, Key: key, Collectors: len(results), Failed: len(errs)}}, nil
}

// applyFanOut reads what the items collected and syncs the union: an item
// without a result (failed, or its file gone) has its collectors fail.
func (h *Handler) applyFanOut(ctx context.Context, p citadel.PlanOutput, fo citadel.AssetSyncFanOut, scopes []citadel.AssetSyncScope) (citadel.AssetSyncOutput, error) {
	if h.Objects == nil || p.Bucket == "" {
		return citadel.AssetSyncOutput{}, citadel.Invalid("asset sync: the fan-out of scan %q needs the scan's bucket (%q)", p.ScanID, p.Bucket)
	}
	log := h.logger(p)
	reg := h.registry()
	startUsage := h.Store.Usage()
	byRegion := map[string]citadel.AssetSyncScope{}
	for _, s := range scopes {
		byRegion[s.Region] = s
	}
	var results []inventory.Result
	failedItems := 0
	for _, item := range fo.Items {
		s, ok := byRegion[item.Region]
		cause := "the item has no result"
		if ok && s.Error == "" && s.Key != "" {
			rs, err := h.readScope(ctx, p.Bucket, s.Key)
			if err == nil {
				results = append(results, rs...)
				continue
			}
			if !errors.As(err, new(*s3types.NoSuchKey)) {
				return citadel.AssetSyncOutput{}, awsErr(fmt.Errorf("asset sync: item %s: %w", item.Region, err))
			}
			cause = "its file is gone: " + err.Error()
		} else if ok && s.Error != "" {
			cause = s.Error
		}
		failedItems++
		log.Warn("asset sync item failed: its scopes are left as they were", "item", item.Region, "cause", cause)
		results = append(results, failedItem(reg, item, cause)...)
	}
	sort.SliceStable(results, func(i, j int) bool {
		if results[i].ResourceType != results[j].ResourceType {
			return results[i].ResourceType < results[j].ResourceType
		}
		return results[i].Region < results[j].Region
	})
	out, err := h.apply(ctx, p, reg, results, h.Env.Defaults().Clock())
	out.Usage = h.Store.Usage().Sub(startUsage)
	if err != nil {
		return out, err
	}
	log.Info("asset sync done", "regions", len(fo.Regions), "items", len(fo.Items), "failed_items", failedItems,
		"assets_created", out.AssetsCreated, "assets_updated", out.AssetsUpdated, "assets_deactivated", out.AssetsDeactivated,
		"total_assets", out.TotalAssets, "errors", len(out.Errors), "write_units", out.Usage.WriteUnits)
	return out, nil
}

// ItemFailedCode is the code of a collector error whose item failed as a
// whole (the message says why).
const ItemFailedCode = "ItemFailed"

// failedItem is an item's collectors failing with the item's cause.
func failedItem(reg inventory.Registry, item citadel.AssetSyncItem, cause string) []inventory.Result {
	cs, _ := part(reg, item)
	region := item.Region
	if region == citadel.AssetSyncGlobalItem {
		region = inventory.GlobalRegion
	}
	out := make([]inventory.Result, 0, len(cs))
	for _, c := range cs {
		out = append(out, inventory.Result{ResourceType: c.ResourceType(), Service: c.Service(), Region: region,
			Err: storedError{Code: ItemFailedCode, Message: "the asset-sync item of " + item.Region + " failed: " + cause}})
	}
	return out
}

// storedResult is an inventory.Result in an item's file.
type storedResult struct {
	ResourceType string              `json:"resource_type"`
	Service      string              `json:"service"`
	Region       string              `json:"region"`
	Assets       []citadel.Asset     `json:"assets,omitempty"`
	Edges        []storedEdge        `json:"edges,omitempty"`
	Aliases      map[string][]string `json:"aliases,omitempty"`
	Code         string              `json:"code,omitempty"`
	Message      string              `json:"message,omitempty"`
	DurationMS   int64               `json:"duration_ms"`
}

type storedEdge struct {
	From string                   `json:"from"`
	To   string                   `json:"to"`
	Kind citadel.RelationshipKind `json:"kind"`
}

// storedError is a collector's error read back from an item's file: its
// code as inventory.ErrorCode reads an AWS error's, its message as it was.
type storedError struct{ Code, Message string }

func (e storedError) Error() string                 { return e.Message }
func (e storedError) ErrorCode() string             { return e.Code }
func (e storedError) ErrorMessage() string          { return e.Message }
func (e storedError) ErrorFault() smithy.ErrorFault { return smithy.FaultUnknown }

func encodeResults(results []inventory.Result) ([]byte, error) {
	out := make([]storedResult, 0, len(results))
	for _, r := range results {
		s := storedResult{ResourceType: r.ResourceType, Service: r.Service, Region: r.Region,
			Assets: r.Batch.Assets, Aliases: r.Batch.Aliases, DurationMS: r.Duration.Milliseconds()}
		for _, e := range r.Batch.Edges {
			s.Edges = append(s.Edges, storedEdge{From: e.From, To: e.To, Kind: e.Kind})
		}
		if r.Err != nil {
			s.Code, s.Message = inventory.ErrorCode(r.Err), r.Err.Error()
		}
		out = append(out, s)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode the collectors' results: %w", err)
	}
	return b, nil
}

// readScope reads an item's file back into results.
func (h *Handler) readScope(ctx context.Context, bucket, key string) ([]inventory.Result, error) {
	obj, err := h.Objects.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Body.Close()
	raw, err := io.ReadAll(obj.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	var stored []storedResult
	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, citadel.Invalid("asset sync: s3://%s/%s is not an item's results: %s", bucket, key, err.Error())
	}
	out := make([]inventory.Result, 0, len(stored))
	for _, s := range stored {
		r := inventory.Result{ResourceType: s.ResourceType, Service: s.Service, Region: s.Region,
			Batch:    inventory.Batch{Assets: s.Assets, Aliases: s.Aliases},
			Duration: time.Duration(s.DurationMS) * time.Millisecond}
		for _, e := range s.Edges {
			r.Batch.Edges = append(r.Batch.Edges, inventory.Edge{From: e.From, To: e.To, Kind: e.Kind})
		}
		if s.Code != "" {
			r.Err = storedError{Code: s.Code, Message: s.Message}
		}
		out = append(out, r)
	}
	return out, nil
}
