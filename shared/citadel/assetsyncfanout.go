package citadel

// Asset sync fans out per region when an integration has more than
// AssetSyncFanOutRegions regions: the asset-sync state then only plans
// (AssetSyncOutput.FanOut), a Map runs one item per region (its regional
// collectors) and one for the global collectors, each writing what it
// collected to S3 (AssetSyncScope), and a last asset-sync call (the
// apply) diffs the union against the store, deactivating only in the
// scopes that were collected. The one Lambda plays the three parts,
// chosen by its input (AssetSyncInput.Item, .FanOut).

// AssetSyncFanOutRegions is the most regions one asset-sync invocation
// collects: past it the sync fans out per region. Up to four regions the
// collectors' 16 concurrent scopes keep one invocation short; past it a
// region each keeps each item's scopes to one region's and its own
// deadline, and the Map's items run at once.
const AssetSyncFanOutRegions = 4

// AssetSyncFanOutConcurrency is how many items of the fan-out's Map run at
// once (each a Lambda invocation of its own).
const AssetSyncFanOutConcurrency = 10

// AssetSyncGlobalItem is the Region of the item that runs the global
// collectors (IAM, S3: one listing covers the account), the inventory's
// scope region for them.
const AssetSyncGlobalItem = "global"

// AssetSyncItem is one item of the fan-out: a region's regional collectors,
// or (Region AssetSyncGlobalItem) the global collectors, which keep the
// resources of Regions (every region of the sync).
type AssetSyncItem struct {
	Region  string   `json:"region"`
	Regions []string `json:"regions,omitempty"`
}

// AssetSyncFanOut is the fan-out's plan: its items, the global one first.
type AssetSyncFanOut struct {
	Regions []string        `json:"regions"`
	Items   []AssetSyncItem `json:"items"`
}

// AssetSyncScope is what an item of the fan-out ended with: the S3 key of
// what it collected, or (Error set, by the Map's Catch) the error that
// failed it, whose scopes the apply then leaves as they were.
type AssetSyncScope struct {
	Region     string `json:"region"`
	Key        string `json:"key,omitempty"`
	Collectors int    `json:"collectors,omitempty"`
	Failed     int    `json:"failed,omitempty"`
	Error      string `json:"error,omitempty"`
}

// AssetSyncScopeFile is the S3 object name of an item's collection, under
// the scan's prefix (ScanObjectKey).
func AssetSyncScopeFile(region string) string { return "assets/" + region + ".json" }
