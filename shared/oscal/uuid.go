package oscal

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/google/uuid"
)

// NamespaceURI is the namespace of Citadel's own OSCAL props (their ns) and
// the name its UUID namespace is derived from.
const NamespaceURI = "https://github.com/citadelsecure/citadel/ns/oscal"

// Namespace is the fixed UUID namespace of every uuid in Citadel's OSCAL
// documents: the UUIDv5 of NamespaceURI in the URL namespace (RFC 4122),
// written out so that it can never drift.
var Namespace = uuid.MustParse("b1d822c4-6069-51c6-8ca3-06601085c759")

// stableUUID is the UUIDv5 in Namespace of the key made of kind and parts
// joined by "/" (for example "observation/<integration>/<check>/<scan>/<asset
// ARN>"). Ids of Citadel (integrations, checks, scans, exceptions) carry no
// "/", and an ARN, which may, always comes last, so distinct keys stay
// distinct.
func stableUUID(kind string, parts ...string) string {
	key := kind + "/" + strings.Join(parts, "/")
	return uuid.NewSHA1(Namespace, []byte(key)).String()
}

// contentUUID is the uuid of a whole document: the UUIDv5 of kind and the
// SHA-256 of the document's content (written with an empty uuid), so the
// uuid changes whenever the content does and never otherwise.
func contentUUID(kind string, content []byte) string {
	sum := sha256.Sum256(content)
	return stableUUID(kind, hex.EncodeToString(sum[:]))
}
