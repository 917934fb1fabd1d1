package citadel

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// MaxAssetARN is the longest ARN an AssetRef carries (AWS's own bound on
// an ARN), and MaxAssetRef the longest ref: an integration id, '~' and the
// ARN in base64url. openapi.yaml bounds GET /assets/{id} by it.
const (
	MaxAssetARN = 2048
	MaxAssetRef = 128 + 1 + (4*MaxAssetARN+2)/3
)

// AssetRef names an asset of an integration in one URL path segment: the
// integration id, '~', and the asset's ARN (its source id) in unpadded
// base64url. Neither part has a character a URL must encode (no '/', ':' or
// '%'), so the ref reaches the API as it was sent, through API Gateway and
// SigV4's path canonicalization alike; '~' is in neither alphabet, so the
// ref splits back without ambiguity.
func AssetRef(integrationID, arn string) string {
	return integrationID + "~" + base64.RawURLEncoding.EncodeToString([]byte(arn))
}

// ParseAssetRef is AssetRef's inverse. A ref of another shape is invalid;
// the message says which part is wrong, not the value.
func ParseAssetRef(ref string) (integrationID, arn string, err error) {
	integrationID, enc, ok := strings.Cut(ref, "~")
	switch {
	case !ok:
		return "", "", Invalid("asset id must be <integration id>~<ARN in base64url>")
	case !ValidID(integrationID):
		return "", "", Invalid("asset id: the part before ~ is not an integration id")
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(b) > MaxAssetARN || !utf8.Valid(b) || !strings.HasPrefix(string(b), "arn:") {
		return "", "", Invalid("asset id: the part after ~ is not an ARN of at most %d bytes in unpadded base64url", MaxAssetARN)
	}
	return integrationID, string(b), nil
}
