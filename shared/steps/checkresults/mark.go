package checkresults

import (
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/digest"
)

// This file marks the scan's failing results with the approved exception
// that covers each (shared/exceptions, read once per scan with the catalog
// and the assets, pass1.go), after pass 1 and before the comparison: a
// marked entry carries the excepted flag in its status and its content hash
// marked with the exception's id (digest.Hash.Marked), so the comparison
// sees a change of the exception alone as a change of the result, and pass
// 2 writes the id (marks) on the result. A result whose exception no longer
// applies (revoked, expired, its scope no longer matching) is not marked,
// which is a change too: it loses the mark.

// position names one result of the scan: its finding and resource.
type position struct {
	finding uint32
	res     uint16
}

// mark marks the sorted entries (their checks index r.checks).
func (r *run) mark() {
	if r.exceptions.Len() == 0 {
		return
	}
	r.marks = map[position]string{}
	for i := range r.entries {
		e := &r.entries[i]
		check := r.checks[e.Check]
		if e.Status.CheckStatus() != citadel.StatusFail || !r.exceptions.Has(check) {
			continue
		}
		res := citadel.CheckResult{IntegrationID: r.plan.IntegrationID, CheckID: check, AssetID: e.Asset.String(), Status: citadel.StatusFail}
		var tags map[string]string
		if r.exceptions.NeedsTags(check) {
			tags = r.tags[e.Asset]
		}
		id := r.exceptions.Mark(res, tags)
		if id == "" {
			continue
		}
		e.Status = e.Status.WithException(true)
		e.Hash = e.Hash.Marked(id)
		r.marks[position{e.finding, e.res}] = id
	}
}

// keepTags keeps what marking needs of an active asset's inventory tags:
// only the tags a tag-scoped exception names, and none when no exception
// has a tag scope.
func (r *run) keepTags(asset digest.Asset, tags map[string]string) {
	if kept := r.exceptions.Relevant(tags); kept != nil {
		if r.tags == nil {
			r.tags = map[digest.Asset]map[string]string{}
		}
		r.tags[asset] = kept
	}
}
