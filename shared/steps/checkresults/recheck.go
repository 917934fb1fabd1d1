package checkresults

import (
	"context"
	"fmt"

	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/digest"
)

// This file is a re-check's partial mode (plan.Recheck set, trigger
// change): the step reads the re-check's resources (blobstore.ReadRecheckFile)
// and touches only the results it covers, those of a resource it names and
// of a check Prowler executed (the manifests' checks_executed, with the
// checks the files hold). Those are created, updated, or left out of the
// digest when Prowler no longer reports them, as a full scan does; every
// other entry of the previous digest is carried into this scan's digest as
// it was (results_carried), the way a failed shard's are, so the next full
// scan compares against a complete digest. A finding of a resource the
// re-check does not name is skipped (KindNotRechecked). A re-check records
// no shard durations: its shard ran a few resources' checks, and its
// duration would spoil the planner's estimates of a full scan.

// KindNotRechecked is a resource a re-check's finding names that the
// re-check does not cover.
const KindNotRechecked = "not_rechecked"

// recheck is what a re-check covers.
type recheck struct {
	assets   map[digest.Asset]bool // the covered resources' packed asset ids
	executed map[string]bool       // the checks Prowler executed
}

// loadRecheck reads the re-check's resources, when the plan is a re-check's.
func (r *run) loadRecheck(ctx context.Context) error {
	if r.plan.Recheck == nil {
		return nil
	}
	f, err := blobstore.ReadRecheckFile(ctx, r.h.S3, r.plan.Bucket, r.plan.Recheck)
	if err != nil {
		return fmt.Errorf("check-results: %w", err)
	}
	if f.IntegrationID != r.plan.IntegrationID {
		return citadel.Invalid("check-results: the re-check's resources %s are integration %s's, not %s's",
			r.url(r.plan.Recheck.Key), f.IntegrationID, r.plan.IntegrationID)
	}
	r.recheck = &recheck{assets: make(map[digest.Asset]bool, len(f.ARNs)), executed: map[string]bool{}}
	for _, arn := range f.ARNs {
		if a, ok := digest.ParseAsset(citadel.AssetID(r.plan.IntegrationID, citadel.SourceAWS, arn)); ok {
			r.recheck.assets[a] = true
		}
	}
	return nil
}

// covers reports whether a finding's resource is one the re-check names
// (every resource when the scan is not a re-check).
func (r *run) covers(asset digest.Asset) bool {
	return r.recheck == nil || r.recheck.assets[asset]
}

// setExecuted records the checks Prowler executed: the manifests' and the
// checks the files hold (pass 1's), so a manifest that lists none takes
// nothing from the files.
func (rc *recheck) setExecuted(manifests map[string]bool, seen []string) {
	for c := range manifests {
		rc.executed[c] = true
	}
	for _, c := range seen {
		rc.executed[c] = true
	}
}

// outside is, per check of the base digest (by index), whether the re-check
// left its entries alone: nil when the scan is not a re-check. An entry of
// a check the re-check ran is outside unless its asset is covered.
func (r *run) outside(baseChecks []string) func(digest.Entry) bool {
	if r.recheck == nil {
		return nil
	}
	ran := make([]bool, len(baseChecks))
	for i, c := range baseChecks {
		ran[i] = r.recheck.executed[c]
	}
	return func(b digest.Entry) bool { return !ran[b.Check] || !r.recheck.assets[b.Asset] }
}
