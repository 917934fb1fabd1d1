package ddb

import (
	"context"
	"fmt"

	"github.com/guregu/dynamo/v2"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Users' corrections of the check → SCF links (citadel.LinkCorrection),
// stored apart from the imported links so a re-import never touches them,
// and the effective links scans use (citadel.EffectiveLinks).

type linkCorrectionItem struct {
	item
	citadel.LinkCorrection
}

func newLinkCorrectionItem(c citadel.LinkCorrection) linkCorrectionItem {
	it := newItem(TypeLinkCorrection, linkCorrectionKey(c.CheckID, c.SCFID)).
		withGSI2(allLinkCorrectionsGSI(c.CheckID, c.SCFID))
	return linkCorrectionItem{it, c}
}

// PutLinkCorrection records a user's correction, replacing an earlier one of
// the same check and SCF control. The check and the SCF control must be in
// the catalog (a not-found error names the missing one).
func (s *Store) PutLinkCorrection(ctx context.Context, c citadel.LinkCorrection) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if _, err := s.GetCheck(ctx, c.CheckID); err != nil {
		return fmt.Errorf("link correction: %w", err)
	}
	if _, err := s.GetSCFControl(ctx, c.SCFID); err != nil {
		return fmt.Errorf("link correction: %w", err)
	}
	return s.put(ctx, newLinkCorrectionItem(c), "")
}

// PutLinkCorrections writes corrections the caller has checked against the
// catalog (the catalog import's corrections file), replacing earlier ones of
// the same check and SCF control.
func (s *Store) PutLinkCorrections(ctx context.Context, cs []citadel.LinkCorrection) error {
	items := make([]any, 0, len(cs))
	for _, c := range cs {
		if err := c.Validate(); err != nil {
			return err
		}
		items = append(items, newLinkCorrectionItem(c))
	}
	return s.batchPut(ctx, items)
}

// LinkCorrectionsOfCheck lists a check's corrections, by SCF id.
func (s *Store) LinkCorrectionsOfCheck(ctx context.Context, checkID string) ([]citadel.LinkCorrection, error) {
	var items []linkCorrectionItem
	q := s.byPK(checkKey(checkID).PK).Range(AttrSK, dynamo.BeginsWith, linkCorrectionSKPrefix())
	if err := s.queryAll(ctx, q, &items, "link corrections of check "+checkID); err != nil {
		return nil, err
	}
	return unwrap(items, func(it linkCorrectionItem) citadel.LinkCorrection { return it.LinkCorrection }), nil
}

// ListLinkCorrections lists every correction, by check then SCF id.
func (s *Store) ListLinkCorrections(ctx context.Context) ([]citadel.LinkCorrection, error) {
	var items []linkCorrectionItem
	if err := s.queryAll(ctx, s.byGSI2(allLinkCorrectionsPK()), &items, "all link corrections"); err != nil {
		return nil, err
	}
	return unwrap(items, func(it linkCorrectionItem) citadel.LinkCorrection { return it.LinkCorrection }), nil
}

// EffectiveLinksOfCheck is a check's effective links, best first: its
// imported links corrected by its users' corrections.
func (s *Store) EffectiveLinksOfCheck(ctx context.Context, checkID string) ([]citadel.EffectiveLink, error) {
	imported, err := s.SCFLinksOfCheck(ctx, checkID)
	if err != nil {
		return nil, err
	}
	corrections, err := s.LinkCorrectionsOfCheck(ctx, checkID)
	if err != nil {
		return nil, err
	}
	return citadel.EffectiveLinks(imported, corrections), nil
}

// ListEffectiveSCFLinks is every check's effective links (what a scan maps
// results through), by check then rank.
func (s *Store) ListEffectiveSCFLinks(ctx context.Context) ([]citadel.EffectiveLink, error) {
	imported, err := s.ListCheckSCFLinks(ctx)
	if err != nil {
		return nil, err
	}
	corrections, err := s.ListLinkCorrections(ctx)
	if err != nil {
		return nil, err
	}
	return citadel.EffectiveLinks(imported, corrections), nil
}
