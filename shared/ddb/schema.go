package ddb

// Attribute names of the table's keys and TTL.
const (
	AttrPK     = "PK"
	AttrSK     = "SK"
	AttrType   = "Type"
	AttrGSI1PK = "GSI1PK"
	AttrGSI1SK = "GSI1SK"
	AttrGSI2PK = "GSI2PK"
	AttrGSI2SK = "GSI2SK"
	AttrTTL    = "ExpiresAt"
)

// Index names.
const (
	GSI1 = "GSI1"
	GSI2 = "GSI2"
)

// Index describes a global secondary index (keys are strings, all attributes projected).
type Index struct {
	Name         string
	PartitionKey string
	SortKey      string
}

// TableSchema is the table's shape: its key attributes (all strings), its
// GSIs and its TTL attribute. CreateTable and the CDK app both read Schema.
type TableSchema struct {
	PartitionKey string
	SortKey      string
	Indexes      []Index
	TTLAttribute string
}

// Schema is the table's one definition.
var Schema = TableSchema{
	PartitionKey: AttrPK,
	SortKey:      AttrSK,
	Indexes: []Index{
		{Name: GSI1, PartitionKey: AttrGSI1PK, SortKey: AttrGSI1SK},
		{Name: GSI2, PartitionKey: AttrGSI2PK, SortKey: AttrGSI2SK},
	},
	TTLAttribute: AttrTTL,
}
