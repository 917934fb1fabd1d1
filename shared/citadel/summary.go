package citadel

import (
	"fmt"
	"strings"
)

// ScanSummary is the outcome of a scan, exactly the fields the scan API returns.
type ScanSummary struct {
	Success               bool    `json:"success"`
	Message               string  `json:"message"`
	AssetsCreated         int     `json:"assets_created"`
	AssetsUpdated         int     `json:"assets_updated"`
	AssetsDeactivated     int     `json:"assets_deactivated"`
	TotalAssets           int     `json:"total_assets"`
	RelationshipsCreated  int     `json:"relationships_created"`
	ResultsCreated        int     `json:"results_created"`
	ARNsSkipped           int     `json:"arns_skipped"`
	ChecksExecuted        int     `json:"checks_executed"`
	ChecksPassed          int     `json:"checks_passed"`
	ChecksFailed          int     `json:"checks_failed"`
	ChecksExcepted        int     `json:"checks_excepted"`
	ChecksError           int     `json:"checks_error"`
	ChecksNotApplicable   int     `json:"checks_not_applicable"`
	ControlsCreated       int     `json:"controls_created"`
	ControlsUpdated       int     `json:"controls_updated"`
	PoliciesCreated       int     `json:"policies_created"`
	PoliciesSkipped       int     `json:"policies_skipped"`
	EvidenceCreated       int     `json:"evidence_created"`
	EvidenceUpdated       int     `json:"evidence_updated"`
	SnapshotsCaptured     int     `json:"snapshots_captured"`
	SnapshotsFailed       int     `json:"snapshots_failed"`
	HistoryEntriesCreated int     `json:"history_entries_created"`
	DurationSeconds       float64 `json:"duration_seconds"`
	// ShardsFailed are the Prowler shards whose findings are missing from
	// the scan (the first MaxShardsFailed; ShardsFailedCount counts them
	// all): their checks in their regions were not scanned and kept the
	// results they had (ResultsCarried of them). A scan with failed shards
	// still succeeds; its message names them.
	ShardsFailed      []ShardFailure `json:"shards_failed,omitempty" dynamo:",omitempty"`
	ShardsFailedCount int            `json:"shards_failed_count,omitempty"`
	ResultsCarried    int            `json:"results_carried,omitempty"`
}

// shardsInMessage bounds the failed shards the summary's message names.
const shardsInMessage = 3

// Summarize builds the summary of a finished scan from the steps' outputs.
func Summarize(in FinalizeInput, durationSeconds float64) ScanSummary {
	s := ScanSummary{
		Success:               true,
		AssetsCreated:         in.Assets.AssetsCreated,
		AssetsUpdated:         in.Assets.AssetsUpdated,
		AssetsDeactivated:     in.Assets.AssetsDeactivated,
		TotalAssets:           in.Assets.TotalAssets,
		RelationshipsCreated:  in.Assets.RelationshipsCreated,
		ResultsCreated:        in.Results.ResultsCreated,
		ARNsSkipped:           in.Results.ARNsSkipped,
		ChecksExecuted:        in.Results.ChecksExecuted,
		ChecksPassed:          in.Results.ChecksPassed,
		ChecksFailed:          in.Results.ChecksFailed,
		ChecksExcepted:        in.Results.ChecksExcepted,
		ChecksError:           in.Results.ChecksError,
		ChecksNotApplicable:   in.Results.ChecksNotApplicable,
		ControlsCreated:       in.Controls.ControlsCreated,
		ControlsUpdated:       in.Controls.ControlsUpdated,
		PoliciesCreated:       in.Policies.PoliciesCreated,
		PoliciesSkipped:       in.Policies.PoliciesSkipped,
		EvidenceCreated:       in.Evidence.EvidenceCreated,
		EvidenceUpdated:       in.Evidence.EvidenceUpdated,
		SnapshotsCaptured:     in.Results.SnapshotsCaptured,
		SnapshotsFailed:       in.Results.SnapshotsFailed,
		HistoryEntriesCreated: in.Results.HistoryEntriesCreated,
		DurationSeconds:       durationSeconds,
		ShardsFailed:          in.Results.ShardsFailed,
		ShardsFailedCount:     max(in.Results.ShardsFailedCount, len(in.Results.ShardsFailed)),
		ResultsCarried:        in.Results.ResultsCarried,
	}
	s.Message = fmt.Sprintf("Scan complete: %d issues found", s.ChecksFailed) + s.excepted() + s.shardsNotScanned()
	return s
}

// excepted is what the message says of excepted results: nothing when
// there are none (the message is then as it was before exceptions).
func (s ScanSummary) excepted() string {
	if s.ChecksExcepted == 0 {
		return ""
	}
	return fmt.Sprintf(", %d failures excepted", s.ChecksExcepted)
}

// shardsNotScanned is what the message says of failed shards: how many,
// and the first few with their checks, regions and reason.
func (s ScanSummary) shardsNotScanned() string {
	if s.ShardsFailedCount == 0 {
		return ""
	}
	noun, its := "shards", "their"
	if s.ShardsFailedCount == 1 {
		noun, its = "shard", "its"
	}
	var named []string
	for _, f := range s.ShardsFailed[:min(len(s.ShardsFailed), shardsInMessage)] {
		named = append(named, f.String())
	}
	more := ""
	if n := s.ShardsFailedCount - len(named); n > 0 {
		more = fmt.Sprintf("; and %d more", n)
	}
	return fmt.Sprintf("; %d %s failed (%s checks not scanned, their results kept): %s%s",
		s.ShardsFailedCount, noun, its, strings.Join(named, "; "), more)
}

// Add returns s with o's counts added (an organization scan's roll-up of
// its members' summaries); Success, Message, DurationSeconds and the failed
// shards named are s's (each member's scan names its own).
func (s ScanSummary) Add(o ScanSummary) ScanSummary {
	s.AssetsCreated += o.AssetsCreated
	s.AssetsUpdated += o.AssetsUpdated
	s.AssetsDeactivated += o.AssetsDeactivated
	s.TotalAssets += o.TotalAssets
	s.RelationshipsCreated += o.RelationshipsCreated
	s.ResultsCreated += o.ResultsCreated
	s.ARNsSkipped += o.ARNsSkipped
	s.ChecksExecuted += o.ChecksExecuted
	s.ChecksPassed += o.ChecksPassed
	s.ChecksFailed += o.ChecksFailed
	s.ChecksExcepted += o.ChecksExcepted
	s.ChecksError += o.ChecksError
	s.ChecksNotApplicable += o.ChecksNotApplicable
	s.ControlsCreated += o.ControlsCreated
	s.ControlsUpdated += o.ControlsUpdated
	s.PoliciesCreated += o.PoliciesCreated
	s.PoliciesSkipped += o.PoliciesSkipped
	s.EvidenceCreated += o.EvidenceCreated
	s.EvidenceUpdated += o.EvidenceUpdated
	s.SnapshotsCaptured += o.SnapshotsCaptured
	s.SnapshotsFailed += o.SnapshotsFailed
	s.HistoryEntriesCreated += o.HistoryEntriesCreated
	s.ShardsFailedCount += o.ShardsFailedCount
	s.ResultsCarried += o.ResultsCarried
	return s
}
