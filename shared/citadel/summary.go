package citadel

import "fmt"

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
}

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
	}
	s.Message = fmt.Sprintf("Scan complete: %d issues found", s.ChecksFailed)
	return s
}

// Add returns s with o's counts added (an organization scan's roll-up of
// its members' summaries); Success, Message and DurationSeconds are s's.
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
	return s
}
