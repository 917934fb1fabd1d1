package export

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// A Table is one of the dataset's CSV files: its name, its stable column
// set (docs/exports.md lists them; a column is only ever added at the end)
// and its rows.
type Table struct {
	Name    string
	Columns []string
	rows    func(ds Dataset) [][]string
}

// Tables are the dataset's CSV files, in the order a package lists them.
var Tables = []Table{
	{Name: "findings", Columns: []string{"integration_id", "account_id", "check_id", "check_title", "severity", "asset_id", "asset_arn", "asset_name",
		"asset_type", "region", "status", "prowler_status", "muted", "exception_id", "detail", "scan_id", "scanned_at", "failing_since", "controls", "requirements"},
		rows: findingRows},
	{Name: "controls", Columns: []string{"ref_id", "name", "scf_control", "posture", "passed", "failed", "excepted", "errored", "checks", "requirements", "control_id"},
		rows: controlRows},
	{Name: "requirements", Columns: []string{"ref_id", "name", "result", "covered", "all_passing", "controls", "passed", "failed", "excepted"},
		rows: requirementRows},
	{Name: "evidence", Columns: []string{"evidence_id", "name", "integration_id", "check_id", "asset_id", "asset_name", "asset_type", "result_status",
		"status", "exception_id", "revision_count", "latest_hash", "review_count", "latest_review_hash", "reviewed_by", "reviewed_at", "created_at", "updated_at"},
		rows: evidenceRows},
	{Name: "evidence_revisions", Columns: []string{"evidence_id", "number", "scan_id", "created_at", "content_sha256", "content_hash", "prev_hash", "hash",
		"exception_id", "exception_status", "exception_applies"}, rows: revisionRows},
	{Name: "evidence_reviews", Columns: []string{"evidence_id", "number", "by", "decision", "comment", "at", "revision", "revision_hash", "prev_hash", "hash"},
		rows: reviewRows},
}

// TableNamed is the table of that name.
func TableNamed(name string) (Table, error) {
	var names []string
	for _, t := range Tables {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return Table{}, citadel.Invalid("export: no table %q (tables: %s)", name, strings.Join(names, ", "))
}

// WriteCSV writes the table's rows of ds as CSV (RFC 4180, a header row).
// A cell that a spreadsheet would read as a formula (starting with = + - @
// or a tab) is prefixed with a single quote, as OWASP advises.
func (t Table) WriteCSV(w io.Writer, ds Dataset) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return fmt.Errorf("export: %s.csv: %w", t.Name, err)
	}
	for _, row := range t.rows(ds) {
		for i, cell := range row {
			row[i] = defuse(cell)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("export: %s.csv: %w", t.Name, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: %s.csv: %w", t.Name, err)
	}
	return nil
}

// WriteJSON writes the table's records of ds as a JSON array of objects
// keyed by its columns (the same cells as the CSV, undefused).
func (t Table) WriteJSON(w io.Writer, ds Dataset) error {
	rows := t.rows(ds)
	out := make([]map[string]string, len(rows))
	for i, row := range rows {
		m := make(map[string]string, len(row))
		for j, cell := range row {
			m[t.Columns[j]] = cell
		}
		out[i] = m
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("export: %s.json: %w", t.Name, err)
	}
	return nil
}

// WriteDatasetJSON writes the whole dataset as one JSON document.
func WriteDatasetJSON(w io.Writer, ds Dataset) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ds); err != nil {
		return fmt.Errorf("export: dataset.json: %w", err)
	}
	return nil
}

func defuse(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func list(s []string) string { return strings.Join(s, ";") }
func num(n int) string       { return strconv.Itoa(n) }
func flag(b bool) string     { return strconv.FormatBool(b) }

func findingRows(ds Dataset) [][]string {
	rows := make([][]string, 0, len(ds.Findings))
	for _, f := range ds.Findings {
		rows = append(rows, []string{f.IntegrationID, f.AccountID, f.CheckID, f.CheckTitle, string(f.Severity), f.AssetID, f.AssetARN, f.AssetName,
			f.AssetType, f.Region, string(f.Status), string(f.ProwlerStatus), flag(f.Muted), f.ExceptionID, f.Detail, f.ScanID, ts(f.ScannedAt),
			ts(f.FirstSeen), list(f.Controls), list(f.Requirements)})
	}
	return rows
}

func controlRows(ds Dataset) [][]string {
	rows := make([][]string, 0, len(ds.Controls))
	for _, c := range ds.Controls {
		rows = append(rows, []string{c.RefID, c.Name, c.SCFControlID, string(c.Posture), num(c.Passed), num(c.Failed), num(c.Excepted), num(c.Errored),
			list(c.Checks), list(c.Requirements), c.ID})
	}
	return rows
}

func requirementRows(ds Dataset) [][]string {
	rows := make([][]string, 0, len(ds.Requirements))
	for _, r := range ds.Requirements {
		rows = append(rows, []string{r.RefID, r.Name, string(r.Result), flag(r.Covered), flag(r.AllPassing), list(r.Controls), num(r.Passed), num(r.Failed), num(r.Excepted)})
	}
	return rows
}

func evidenceRows(ds Dataset) [][]string {
	rows := make([][]string, 0, len(ds.Evidence))
	for _, rec := range ds.Evidence {
		e := rec.Evidence
		rows = append(rows, []string{e.ID, e.Name, e.SourceIntegration, e.CheckID, e.AssetID, e.AssetName, e.AssetType, string(e.ResultStatus),
			string(e.Status), e.ExceptionID, num(e.RevisionCount), e.LatestHash, num(e.ReviewCount), e.LatestReviewHash, e.ReviewedBy, ts(e.ReviewedAt),
			ts(e.CreatedAt), ts(e.UpdatedAt)})
	}
	return rows
}

func revisionRows(ds Dataset) [][]string {
	var rows [][]string
	for _, rec := range ds.Evidence {
		for _, r := range rec.Revisions {
			var xid, xstatus, xapplies string
			if r.Exception != nil {
				xid, xstatus, xapplies = r.Exception.ID, string(r.Exception.Status), flag(r.Exception.Applies)
			}
			rows = append(rows, []string{r.EvidenceID, num(r.Number), r.ScanID, ts(r.CreatedAt), citadel.ContentSHA256(r.RawOutput), r.ContentHash,
				r.PrevHash, r.Hash, xid, xstatus, xapplies})
		}
	}
	return rows
}

func reviewRows(ds Dataset) [][]string {
	var rows [][]string
	for _, rec := range ds.Evidence {
		for _, r := range rec.Reviews {
			rows = append(rows, []string{r.EvidenceID, num(r.Number), r.By, string(r.Decision), r.Comment, ts(r.At), num(r.Revision), r.RevisionHash,
				r.PrevHash, r.Hash})
		}
	}
	return rows
}
