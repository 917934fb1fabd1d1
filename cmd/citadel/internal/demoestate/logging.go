package demoestate

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/citadelsecure/citadel/shared/inventory"
)

// logging: log groups (a week of retention, two years, none), and a
// logging single-region CloudTrail trail in us-east-1 only: eu-west-1 has
// none.
func (s *seeder) logging(east, west aws.Config) {
	for _, g := range []struct {
		cfg  aws.Config
		name string
		days int32
	}{{east, "/orders/api", 7}, {east, "/audit/trail", 731}, {west, "/events/worker", 0}} {
		c := cloudwatchlogs.NewFromConfig(g.cfg)
		if _, err := c.CreateLogGroup(s.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g.name)}); !s.ok("log group "+g.name, err) {
			return
		}
		if g.days > 0 {
			_, err := c.PutRetentionPolicy(s.ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(g.name), RetentionInDays: aws.Int32(g.days)})
			if !s.ok("retention "+g.name, err) {
				return
			}
		}
		name := "log-group-" + g.name
		s.res(name, inventory.LogGroupARN(g.cfg.Region, s.account, g.name))
		// Prowler's rule: at least 365 days, or never expire.
		s.add("cloudwatch_log_group_retention_policy_specific_days_enabled", name, map[bool]string{true: "FAIL", false: "PASS"}[g.days > 0 && g.days < 365])
	}
	ct := cloudtrail.NewFromConfig(east)
	tr, err := ct.CreateTrail(s.ctx, &cloudtrail.CreateTrailInput{Name: aws.String("audit"), S3BucketName: aws.String(lastID(s.e.Resources["bucket-logs"])),
		IsMultiRegionTrail: aws.Bool(false)})
	if !s.ok("trail", err) {
		return
	}
	s.res("trail-audit", aws.ToString(tr.TrailARN))
	_, err = ct.StartLogging(s.ctx, &cloudtrail.StartLoggingInput{Name: aws.String("audit")})
	if !s.ok("start logging", err) {
		return
	}
}
