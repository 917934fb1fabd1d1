package demoestate

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// kms: a key with rotation (it encrypts the fixed resources) and one
// without, in each region.
func (s *seeder) kms(east, west aws.Config) {
	for _, r := range []struct {
		cfg    aws.Config
		name   string
		rotate bool
	}{{east, "key-east", true}, {east, "key-east-stale", false}, {west, "key-west", true}} {
		c := kms.NewFromConfig(r.cfg)
		out, err := c.CreateKey(s.ctx, &kms.CreateKeyInput{Description: aws.String("citadel demo " + r.name),
			Tags: []kmstypes.Tag{{TagKey: aws.String("Name"), TagValue: aws.String(r.name)}}})
		if !s.ok("kms key "+r.name, err) {
			return
		}
		s.res(r.name, aws.ToString(out.KeyMetadata.Arn))
		if r.rotate {
			_, err = c.EnableKeyRotation(s.ctx, &kms.EnableKeyRotationInput{KeyId: out.KeyMetadata.KeyId})
			if !s.ok("key rotation "+r.name, err) {
				return
			}
			s.add("kms_cmk_rotation_enabled", r.name, "PASS")
		} else {
			s.add("kms_cmk_rotation_enabled", r.name, "FAIL")
		}
	}
}
