package ddb

import (
	"context"

	"github.com/citadelsecure/citadel/shared/citadel"
)

type assessmentItem struct {
	item
	citadel.RequirementAssessment
}

// normalizeAssessment fills the assessment's id and framework from its
// folder and requirement id ("<framework>:<ref>").
func normalizeAssessment(ra citadel.RequirementAssessment) (citadel.RequirementAssessment, string, error) {
	if err := ra.Validate(); err != nil {
		return ra, "", err
	}
	fw, ref, ok := citadel.SplitRequirementID(ra.RequirementID)
	if !ok || fw == "" || ref == "" {
		return ra, "", citadel.Invalid("requirement assessment: requirement_id %q is not <framework>:<ref>", ra.RequirementID)
	}
	if ra.FrameworkID == "" {
		ra.FrameworkID = fw
	}
	if ra.FrameworkID != fw {
		return ra, "", citadel.Invalid("requirement assessment: framework_id %q does not match requirement %q", ra.FrameworkID, ra.RequirementID)
	}
	want := citadel.RequirementAssessmentID(ra.FolderID, ra.RequirementID)
	if ra.ID == "" {
		ra.ID = want
	}
	if ra.ID != want {
		return ra, "", citadel.Invalid("requirement assessment: id %q does not match (folder, requirement)", ra.ID)
	}
	return ra, ref, nil
}

// PutAssessment creates or replaces a folder's assessment of a requirement
// (its manual controls, answers and result) and returns it as stored.
func (s *Store) PutAssessment(ctx context.Context, ra citadel.RequirementAssessment) (citadel.RequirementAssessment, error) {
	ra, ref, err := normalizeAssessment(ra)
	if err != nil {
		return ra, err
	}
	if ra.UpdatedAt.IsZero() {
		ra.UpdatedAt = s.clock()
	}
	it := assessmentItem{newItem(TypeAssessment, assessmentKey(ra.ID)).withGSI1(assessmentsOfFolderGSI(ra.FolderID, ra.FrameworkID, ref)), ra}
	return ra, s.put(ctx, it, "")
}

// GetAssessment reads an assessment by id (citadel.RequirementAssessmentID).
func (s *Store) GetAssessment(ctx context.Context, id string) (citadel.RequirementAssessment, error) {
	var it assessmentItem
	err := s.get(ctx, assessmentKey(id), &it, "requirement assessment "+id)
	return it.RequirementAssessment, err
}

// ListAssessments lists a folder's assessments of a framework's requirements.
func (s *Store) ListAssessments(ctx context.Context, folderID, frameworkID string) ([]citadel.RequirementAssessment, error) {
	var items []assessmentItem
	pk := assessmentsOfFolderGSI(folderID, frameworkID, "").PK
	if err := s.queryAll(ctx, s.byGSI1(pk), &items, "assessments of "+folderID+"/"+frameworkID); err != nil {
		return nil, err
	}
	out := make([]citadel.RequirementAssessment, len(items))
	for i, it := range items {
		out[i] = it.RequirementAssessment
	}
	return out, nil
}
