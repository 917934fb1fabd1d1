package citadel

// CatalogImportInput is the catalog-import function's input (and the
// `citadel catalog import` flags).
type CatalogImportInput struct {
	// ProwlerSource is a Prowler folder: a local directory (installed or
	// flat layout) or an S3 prefix (s3://bucket/catalog/prowler/) laid out
	// like the installed package. Empty: the locally installed Prowler.
	ProwlerSource string `json:"prowler_source,omitempty"`
	// ProwlerVersion overrides the detected version.
	ProwlerVersion string `json:"prowler_version,omitempty"`
	// SCFSource is a folder (directory or S3 prefix) with scf-<version>.yaml
	// and mapping-*-and-scf-<version>.yaml; empty imports Prowler alone.
	SCFSource string `json:"scf_source,omitempty"`
	// MaxLinksPerCheck caps the SCF controls kept per check (default 3).
	MaxLinksPerCheck int `json:"max_links_per_check,omitempty"`
	// CorrectionsSource is a corrections file (YAML, see docs/catalog.md):
	// a local file or an S3 object (s3://bucket/catalog/corrections.yaml).
	// Its corrections of the check → SCF links are checked against this
	// import's catalog, so it needs SCFSource. Stored corrections the file
	// does not name (the API's) are kept.
	CorrectionsSource string `json:"corrections_source,omitempty"`
}

// CatalogWrites counts what an import wrote, per kind of item.
type CatalogWrites struct {
	Checks            int `json:"checks"`
	ChecksDeprecated  int `json:"checks_deprecated"`
	Frameworks        int `json:"frameworks"`
	Requirements      int `json:"requirements"`
	SCFControls       int `json:"scf_controls"`
	SCFMappings       int `json:"scf_mappings"`
	SCFMappingsDelete int `json:"scf_mappings_deleted"`
	Links             int `json:"links"`
	LinksDeleted      int `json:"links_deleted"`
	Templates         int `json:"templates"`
	// Corrections are the corrections file's link corrections written: new
	// ones and those whose action, reason or by changed.
	Corrections int `json:"corrections"`
	Version     int `json:"version"`
}

// Total is the number of items written or deleted.
func (w CatalogWrites) Total() int {
	return w.Checks + w.ChecksDeprecated + w.Frameworks + w.Requirements + w.SCFControls +
		w.SCFMappings + w.SCFMappingsDelete + w.Links + w.LinksDeleted + w.Templates + w.Corrections + w.Version
}

// CatalogImportOutput says what the import found and what it changed.
type CatalogImportOutput struct {
	ProwlerVersion   string              `json:"prowler_version"`
	ProwlerLayout    string              `json:"prowler_layout"`
	SCFVersion       string              `json:"scf_version,omitempty"`
	SCFImported      bool                `json:"scf_imported"`
	Message          string              `json:"message"`
	Checks           int                 `json:"checks"`
	DeprecatedChecks int                 `json:"deprecated_checks"`
	Frameworks       int                 `json:"frameworks"`
	Requirements     int                 `json:"requirements"`
	SCFControls      int                 `json:"scf_controls"`
	SCFMappings      int                 `json:"scf_mappings"`
	Links            int                 `json:"links"`
	Templates        int                 `json:"templates"`
	Corrections      int                 `json:"corrections,omitempty"`    // in the corrections file
	UnknownChecks    map[string][]string `json:"unknown_checks,omitempty"` // check id → requirements listing it
	JoinReports      []CatalogJoinReport `json:"join_reports,omitempty"`
	SkippedFiles     []string            `json:"skipped_files,omitempty"`
	Writes           CatalogWrites       `json:"writes"`
	Usage            Usage               `json:"usage"`
}

// CatalogJoinReport says, per mapping file, how well its requirement ids joined
// Prowler's requirements. Nothing unmatched is dropped silently: both sides'
// unmatched ids are listed.
type CatalogJoinReport struct {
	File        string `json:"file"`
	Framework   string `json:"framework"`              // the mapping's framework name
	FrameworkID string `json:"framework_id,omitempty"` // the Prowler framework it joined ("" when none)
	Skipped     string `json:"skipped,omitempty"`      // why the file joined nothing
	// Prowler side: requirements of the framework, how many found at least
	// one SCF mapping, and the ids of the others.
	ProwlerRequirements int      `json:"prowler_requirements"`
	ProwlerMatched      int      `json:"prowler_matched"`
	JoinRate            float64  `json:"join_rate"`
	ProwlerUnmatched    []string `json:"prowler_unmatched,omitempty"`
	// ProwlerCrosswalked are the matched ones that joined only through the
	// framework's crosswalk of older ids (NIST CSF 1.1 → 2.0), as intersect.
	ProwlerCrosswalked []string `json:"prowler_crosswalked,omitempty"`
	// Mapping side: distinct requirement refs in the file, how many found a
	// Prowler requirement, and the others.
	MappingRefs      int      `json:"mapping_refs"`
	MappingMatched   int      `json:"mapping_matched"`
	MappingUnmatched []string `json:"mapping_unmatched,omitempty"`
	Mappings         int      `json:"mappings"` // SCFFrameworkMappings produced
}

// CatalogRunInput is the execution input of the catalog state machine
// (stack output OutputCatalogStateMachine), which exports the Prowler
// image's catalog to CatalogPrefix and imports it with the SCF files under
// SCFPrefix (none there: Prowler alone). Every field is optional: `{}`
// exports and imports.
type CatalogRunInput struct {
	// SkipExport imports what catalog/prowler/ already holds, without
	// running the Prowler task (after adding SCF files, for one).
	SkipExport bool `json:"skip_export,omitempty"`
	// Image is the Prowler image's asset hash, set by the deployment that
	// starts the load; informational.
	Image string `json:"image,omitempty"`
}
