package inventory

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// Resource types of the global collectors.
const (
	TypeS3Bucket  = "s3:bucket"
	TypeIAMUser   = "iam:user"
	TypeIAMRole   = "iam:role"
	TypeIAMGroup  = "iam:group"
	TypeIAMPolicy = "iam:policy"
)

// GlobalCollectors are the collectors of S3 and IAM, whose one listing covers
// the account.
func GlobalCollectors() []Collector {
	return []Collector{
		funcCollector{TypeS3Bucket, "s3", true, collectBuckets},
		funcCollector{TypeIAMUser, "iam", true, collectUsers},
		funcCollector{TypeIAMRole, "iam", true, collectRoles},
		funcCollector{TypeIAMGroup, "iam", true, collectGroups},
		funcCollector{TypeIAMPolicy, "iam", true, collectPolicies},
	}
}

// bucketDescription is a bucket's raw source data.
type bucketDescription struct {
	Name         string
	CreationDate any
	Region       string
	Encryption   []s3types.ServerSideEncryptionRule `json:",omitempty"`
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// collectBuckets lists the account's buckets and keeps those in the synced
// regions, as Prowler does (a bucket's region is its location constraint,
// "" meaning us-east-1 and "EU" eu-west-1).
func collectBuckets(ctx context.Context, env Env, regions []string, b *Batch) error {
	home := s3.NewFromConfig(env.Config, awsx.S3Options)
	p := s3.NewListBucketsPaginator(home, &s3.ListBucketsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list buckets: %w", err)
		}
		parts := make([]Batch, len(out.Buckets))
		err = each(ctx, out.Buckets, func(ctx context.Context, i int, bk s3types.Bucket) error {
			return describeBucket(ctx, env, home, regions, bk, &parts[i])
		})
		if err != nil {
			return err
		}
		b.merge(parts)
	}
	return nil
}

func describeBucket(ctx context.Context, env Env, home *s3.Client, regions []string, bk s3types.Bucket, b *Batch) error {
	name := aws.ToString(bk.Name)
	region := aws.ToString(bk.BucketRegion)
	if region == "" {
		loc, err := home.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: bk.Name})
		if err != nil {
			return fmt.Errorf("bucket %s location: %w", name, err)
		}
		region = string(loc.LocationConstraint)
	}
	switch region {
	case "":
		region = "us-east-1"
	case "EU":
		region = "eu-west-1"
	}
	if !inRegions(regions, region) {
		return nil
	}
	c := s3.NewFromConfig(env.Config, awsx.S3Options, func(o *s3.Options) { o.Region = region })
	desc := bucketDescription{Name: name, CreationDate: bk.CreationDate, Region: region}
	arn := S3BucketARN(Partition(region), name)
	enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bk.Name})
	switch {
	case err == nil && enc.ServerSideEncryptionConfiguration != nil:
		desc.Encryption = enc.ServerSideEncryptionConfiguration.Rules
		for _, r := range desc.Encryption {
			if d := r.ApplyServerSideEncryptionByDefault; d != nil {
				b.edge(arn, KMSKeyARN(region, env.AccountID, aws.ToString(d.KMSMasterKeyID)), citadel.RelEncryptedBy)
			}
		}
	case err != nil && apiCode(err) != "ServerSideEncryptionConfigurationNotFoundError":
		return fmt.Errorf("bucket %s encryption: %w", name, err)
	}
	var tags map[string]string
	tg, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bk.Name})
	switch {
	case err == nil:
		tags = tagMap(tg.TagSet, func(t s3types.Tag) (*string, *string) { return t.Key, t.Value })
	case apiCode(err) != "NoSuchTagSet" && apiCode(err) != "NoSuchTagSetError":
		return fmt.Errorf("bucket %s tags: %w", name, err)
	}
	b.add(resource{typ: TypeS3Bucket, arn: arn, id: name, region: region, account: env.AccountID, tags: tags, raw: desc}.asset())
	return nil
}

// authDetails reads the account's IAM entities of the given kinds in one
// paginated GetAccountAuthorizationDetails.
func authDetails(ctx context.Context, env Env, filter ...iamtypes.EntityType) (*iam.GetAccountAuthorizationDetailsOutput, error) {
	all := &iam.GetAccountAuthorizationDetailsOutput{}
	p := iam.NewGetAccountAuthorizationDetailsPaginator(iam.NewFromConfig(env.Config), &iam.GetAccountAuthorizationDetailsInput{Filter: filter})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("get account authorization details: %w", err)
		}
		all.UserDetailList = append(all.UserDetailList, out.UserDetailList...)
		all.RoleDetailList = append(all.RoleDetailList, out.RoleDetailList...)
		all.GroupDetailList = append(all.GroupDetailList, out.GroupDetailList...)
		all.Policies = append(all.Policies, out.Policies...)
	}
	return all, nil
}

func iamTags(tags []iamtypes.Tag) map[string]string {
	return tagMap(tags, func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value })
}

func collectUsers(ctx context.Context, env Env, _ []string, b *Batch) error {
	d, err := authDetails(ctx, env, iamtypes.EntityTypeUser, iamtypes.EntityTypeGroup)
	if err != nil {
		return err
	}
	groups := map[string]string{}
	for _, g := range d.GroupDetailList {
		groups[aws.ToString(g.GroupName)] = aws.ToString(g.Arn)
	}
	for _, u := range d.UserDetailList {
		arn := aws.ToString(u.Arn)
		b.add(resource{typ: TypeIAMUser, arn: arn, id: aws.ToString(u.UserName), region: GlobalRegion, account: env.AccountID,
			tags: iamTags(u.Tags), raw: u}.asset())
		for _, g := range u.GroupList {
			b.edge(arn, groups[g], citadel.RelUserInGroup)
		}
	}
	return nil
}

func collectRoles(ctx context.Context, env Env, _ []string, b *Batch) error {
	d, err := authDetails(ctx, env, iamtypes.EntityTypeRole)
	if err != nil {
		return err
	}
	for _, r := range d.RoleDetailList {
		arn := aws.ToString(r.Arn)
		b.add(resource{typ: TypeIAMRole, arn: arn, id: aws.ToString(r.RoleName), region: GlobalRegion, account: env.AccountID,
			tags: iamTags(r.Tags), raw: r, volatile: []string{"RoleLastUsed"}}.asset())
		for _, ip := range r.InstanceProfileList {
			if b.Aliases == nil {
				b.Aliases = map[string][]string{}
			}
			p := aws.ToString(ip.Arn)
			b.Aliases[p] = append(b.Aliases[p], arn)
		}
	}
	return nil
}

func collectGroups(ctx context.Context, env Env, _ []string, b *Batch) error {
	d, err := authDetails(ctx, env, iamtypes.EntityTypeGroup)
	if err != nil {
		return err
	}
	for _, g := range d.GroupDetailList {
		b.add(resource{typ: TypeIAMGroup, arn: aws.ToString(g.Arn), id: aws.ToString(g.GroupName), region: GlobalRegion,
			account: env.AccountID, raw: g}.asset())
	}
	return nil
}

// collectPolicies lists the customer-managed policies, with an edge to each
// user, role and group they are attached to.
func collectPolicies(ctx context.Context, env Env, _ []string, b *Batch) error {
	d, err := authDetails(ctx, env, iamtypes.EntityTypeLocalManagedPolicy, iamtypes.EntityTypeUser, iamtypes.EntityTypeRole, iamtypes.EntityTypeGroup)
	if err != nil {
		return err
	}
	local := map[string]bool{}
	c := iam.NewFromConfig(env.Config)
	parts := make([]Batch, len(d.Policies))
	err = each(ctx, d.Policies, func(ctx context.Context, i int, p iamtypes.ManagedPolicyDetail) error {
		var tags []iamtypes.Tag
		pg := iam.NewListPolicyTagsPaginator(c, &iam.ListPolicyTagsInput{PolicyArn: p.Arn})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("policy %s tags: %w", aws.ToString(p.Arn), err)
			}
			tags = append(tags, out.Tags...)
		}
		parts[i].add(resource{typ: TypeIAMPolicy, arn: aws.ToString(p.Arn), id: aws.ToString(p.PolicyName), region: GlobalRegion,
			account: env.AccountID, tags: iamTags(tags), raw: p}.asset())
		return nil
	})
	if err != nil {
		return err
	}
	b.merge(parts)
	for _, p := range d.Policies {
		local[aws.ToString(p.Arn)] = true
	}
	attach := func(to string, pols []iamtypes.AttachedPolicy) {
		for _, ap := range pols {
			if p := aws.ToString(ap.PolicyArn); local[p] {
				b.edge(p, to, citadel.RelPolicyAttached)
			}
		}
	}
	for _, u := range d.UserDetailList {
		attach(aws.ToString(u.Arn), u.AttachedManagedPolicies)
	}
	for _, r := range d.RoleDetailList {
		attach(aws.ToString(r.Arn), r.AttachedManagedPolicies)
	}
	for _, g := range d.GroupDetailList {
		attach(aws.ToString(g.Arn), g.AttachedManagedPolicies)
	}
	return nil
}
