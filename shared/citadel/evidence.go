package citadel

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// EvidenceStatus is where an evidence record stands in the auditor's review.
type EvidenceStatus string

const (
	EvidenceInReview EvidenceStatus = "in_review"
	EvidenceApproved EvidenceStatus = "approved"
	EvidenceRejected EvidenceStatus = "rejected"
	EvidenceExpired  EvidenceStatus = "expired"
)

// Evidence is the continuous audit record of one check result (one per
// integration, check and asset). It copies the asset's name, type and ARN so
// that it survives the asset's deletion.
type Evidence struct {
	ID                string         `json:"id"`
	FolderID          string         `json:"folder_id"`
	SourceIntegration string         `json:"source_integration"`
	CheckID           string         `json:"security_check"`
	AssetID           string         `json:"asset"`
	Name              string         `json:"name"`
	Origin            Origin         `json:"origin"`
	Status            EvidenceStatus `json:"status"`
	IsContinuous      bool           `json:"is_continuous"`
	AssetName         string         `json:"asset_name"`
	AssetType         string         `json:"asset_type"`
	AssetSourceID     string         `json:"asset_source_id"`
	ResultStatus      CheckStatus    `json:"result_status"`
	RevisionCount     int            `json:"revision_count"`
	LatestHash        string         `json:"latest_hash,omitempty"`
	ReviewComment     string         `json:"review_comment,omitempty"`
	ReviewedAt        time.Time      `json:"reviewed_at,omitzero"`
	ReviewedBy        string         `json:"reviewed_by,omitempty"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	// ResultContentHash is the content hash of the check result the latest
	// revision recorded: a new revision is made only when it changes.
	ResultContentHash string `json:"result_content_hash,omitempty"`
	// ExceptionID is the approved exception that covers the result as of
	// the latest revision (ResultStatus is then excepted, the effective
	// status); the revision records its decision (RevisionException).
	ExceptionID string `json:"exception_id,omitempty"`
	// ControlIDs are the applied controls linked to this evidence (those that
	// share its security check); the links are also ControlLink items.
	ControlIDs []string `json:"applied_controls,omitempty"`
	// ReviewCount and LatestReviewHash commit the review history (a hash
	// chain of EvidenceReview) as RevisionCount and LatestHash commit the
	// revisions.
	ReviewCount      int    `json:"review_count,omitempty"`
	LatestReviewHash string `json:"latest_review_hash,omitempty"`
}

// EvidenceID is the deterministic id of the evidence of a check result.
func EvidenceID(integrationID, checkID, assetID string) string {
	return "ev-" + ResultID(integrationID, checkID, assetID)
}

// EvidenceName is "{asset_name}: {check_title}".
func EvidenceName(assetName, checkTitle string) string { return assetName + ": " + checkTitle }

// Validate checks an evidence record.
func (e Evidence) Validate() error {
	var errs fieldErrors
	errs.add(e.ID == "", "id is required")
	errs.add(e.SourceIntegration == "", "source_integration is required")
	errs.add(e.Name == "", "name is required")
	switch e.Status {
	case EvidenceInReview, EvidenceApproved, EvidenceRejected, EvidenceExpired:
	default:
		errs.add(true, fmt.Sprintf("status %q is not an evidence status", e.Status))
	}
	return errs.err("evidence")
}

// EvidenceRevision is one version of an evidence record's content: the
// result's raw output and, when an exception applies or has just stopped
// applying, that exception's decision. ContentHash covers both
// (RevisionContentHash); Hash is the SHA-256 of PrevHash and ContentHash,
// so the revisions form a chain in which any edit breaks every later link.
type EvidenceRevision struct {
	EvidenceID string `json:"evidence_id"`
	Number     int    `json:"number"`
	ScanID     string `json:"scan_id"`
	RawOutput  []byte `json:"raw_output"`
	// Exception is the decision of the exception that applies to the
	// result, or that has just stopped applying (nil: none, as before).
	Exception   *RevisionException `json:"exception,omitempty"`
	ContentHash string             `json:"content_hash"`
	PrevHash    string             `json:"prev_hash"`
	Hash        string             `json:"hash"`
	CreatedAt   time.Time          `json:"created_at"`
}

// ContentSHA256 returns the hex SHA-256 of b.
func ContentSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ChainHash returns the link hash of a revision: SHA-256(prevHash || contentHash).
func ChainHash(prevHash, contentHash string) string {
	return ContentSHA256([]byte(prevHash + "\n" + contentHash))
}

// NewRevision builds revision number n over raw, chained to prev (nil for
// the first), recording no exception.
func NewRevision(evidenceID string, n int, scanID string, raw []byte, prev *EvidenceRevision, at time.Time) EvidenceRevision {
	return NewExceptionRevision(evidenceID, n, scanID, raw, nil, prev, at)
}

// NewExceptionRevision is NewRevision recording the exception's decision x
// (nil: none) beside raw.
func NewExceptionRevision(evidenceID string, n int, scanID string, raw []byte, x *RevisionException, prev *EvidenceRevision, at time.Time) EvidenceRevision {
	r := EvidenceRevision{EvidenceID: evidenceID, Number: n, ScanID: scanID, RawOutput: raw, Exception: x, CreatedAt: at}
	if prev != nil {
		r.PrevHash = prev.Hash
	}
	r.ContentHash = RevisionContentHash(raw, x)
	r.Hash = ChainHash(r.PrevHash, r.ContentHash)
	return r
}

// ChainBreak describes the first broken link of a revision chain, or of
// the review history (Review is then the review's number, and Number the
// revision it judged).
type ChainBreak struct {
	Number int    `json:"number"`
	Review int    `json:"review,omitempty"`
	Reason string `json:"reason"`
}

// VerifyChain checks revisions given oldest first and returns the first
// broken link, or nil when the chain holds.
func VerifyChain(revs []EvidenceRevision) *ChainBreak {
	prev := ""
	for i, r := range revs {
		switch {
		case r.Number != i+1:
			return &ChainBreak{Number: r.Number, Reason: fmt.Sprintf("revision %d found where %d was expected", r.Number, i+1)}
		case RevisionContentHash(r.RawOutput, r.Exception) != r.ContentHash:
			if r.Exception != nil {
				return &ChainBreak{Number: r.Number, Reason: "content or exception " + r.Exception.ID + " does not match its content hash"}
			}
			return &ChainBreak{Number: r.Number, Reason: "content does not match its content hash"}
		case r.PrevHash != prev:
			return &ChainBreak{Number: r.Number, Reason: "previous hash does not match the previous revision"}
		case ChainHash(r.PrevHash, r.ContentHash) != r.Hash:
			return &ChainBreak{Number: r.Number, Reason: "hash does not match previous hash and content"}
		}
		prev = r.Hash
	}
	return nil
}
