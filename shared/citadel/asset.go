package citadel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SourceAWS is the only asset source today.
const SourceAWS = "aws"

// MaxRawSourceData bounds the API description kept on an asset.
const MaxRawSourceData = 32 << 10

// Asset is one cloud resource of an integration, deduplicated by
// (source, source_id); for AWS the source id is the resource's ARN.
type Asset struct {
	ID            string            `json:"id"`
	IntegrationID string            `json:"integration_id"`
	Source        string            `json:"source"`
	SourceID      string            `json:"source_id"`
	ServiceType   string            `json:"service_type"`
	Name          string            `json:"name"`
	Region        string            `json:"region"`
	AccountID     string            `json:"account_id"`
	Tags          map[string]string `json:"tags,omitempty"`
	RawSourceData json.RawMessage   `json:"raw_source_data,omitempty"`
	IsActive      bool              `json:"is_active"`
	FirstSeen     time.Time         `json:"first_seen"`
	LastSeen      time.Time         `json:"last_seen"`
	// Fingerprint is a hash of the asset's content (everything but the
	// timestamps): a sync rewrites the item only when it differs.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// AssetID is the deterministic id of an asset: the same resource always gets
// the same id, so every step can name it without a lookup.
func AssetID(integrationID, source, sourceID string) string {
	return shortHash(integrationID, source, sourceID)
}

// ComputeFingerprint returns the content hash of the asset.
func (a Asset) ComputeFingerprint() string {
	c := a
	c.FirstSeen, c.LastSeen, c.Fingerprint, c.IsActive = time.Time{}, time.Time{}, "", false
	b, _ := json.Marshal(c) // maps marshal in key order, so this is stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Validate checks an asset before it is stored.
func (a Asset) Validate() error {
	var errs fieldErrors
	errs.add(a.IntegrationID == "", "integration_id is required")
	errs.add(a.Source == "", "source is required")
	errs.add(a.SourceID == "", "source_id is required")
	errs.add(a.Source == SourceAWS && !strings.HasPrefix(a.SourceID, "arn:"), fmt.Sprintf("source_id %q is not an ARN", a.SourceID))
	errs.add(a.ServiceType == "", "service_type is required")
	errs.add(a.ID != "" && a.ID != AssetID(a.IntegrationID, a.Source, a.SourceID), "id does not match (integration, source, source_id)")
	errs.add(len(a.RawSourceData) > MaxRawSourceData, fmt.Sprintf("raw_source_data is %d bytes, over %d", len(a.RawSourceData), MaxRawSourceData))
	return errs.err("asset")
}

// RelationshipKind names an edge between two assets.
type RelationshipKind string

// The relationship kinds asset sync records.
const (
	RelInstanceInVPC         RelationshipKind = "instance_in_vpc"
	RelInstanceInSubnet      RelationshipKind = "instance_in_subnet"
	RelInstanceSecurityGroup RelationshipKind = "instance_uses_security_group"
	RelInstanceRole          RelationshipKind = "instance_assumes_role"
	RelVolumeAttached        RelationshipKind = "volume_attached_to_instance"
	RelSubnetInVPC           RelationshipKind = "subnet_in_vpc"
	RelSecurityGroupInVPC    RelationshipKind = "security_group_in_vpc"
	RelInternetGatewayVPC    RelationshipKind = "internet_gateway_attached_to_vpc"
	RelFunctionRole          RelationshipKind = "function_assumes_role"
	RelFunctionVPC           RelationshipKind = "function_in_vpc"
	RelFunctionSubnet        RelationshipKind = "function_in_subnet"
	RelFunctionSecurityGroup RelationshipKind = "function_uses_security_group"
	RelDBInVPC               RelationshipKind = "db_in_vpc"
	RelDBSecurityGroup       RelationshipKind = "db_uses_security_group"
	RelEncryptedBy           RelationshipKind = "encrypted_by_kms_key"
	RelTrailBucket           RelationshipKind = "trail_delivers_to_bucket"
	RelLoadBalancerVPC       RelationshipKind = "load_balancer_in_vpc"
	RelLoadBalancerSubnet    RelationshipKind = "load_balancer_in_subnet"
	RelLoadBalancerSecGroup  RelationshipKind = "load_balancer_uses_security_group"
	RelUserInGroup           RelationshipKind = "user_in_group"
	RelPolicyAttached        RelationshipKind = "policy_attached_to"
)

// AssetRelationship is a directed, named edge between two assets of one
// integration, by ARN.
type AssetRelationship struct {
	IntegrationID string           `json:"integration_id"`
	FromARN       string           `json:"from"`
	ToARN         string           `json:"to"`
	Kind          RelationshipKind `json:"kind"`
}

// Validate checks an edge.
func (r AssetRelationship) Validate() error {
	var errs fieldErrors
	errs.add(r.IntegrationID == "", "integration_id is required")
	errs.add(!strings.HasPrefix(r.FromARN, "arn:"), fmt.Sprintf("from %q is not an ARN", r.FromARN))
	errs.add(!strings.HasPrefix(r.ToARN, "arn:"), fmt.Sprintf("to %q is not an ARN", r.ToARN))
	errs.add(r.Kind == "", "kind is required")
	return errs.err("relationship")
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:10])
}
