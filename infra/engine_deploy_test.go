package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// deployed is the stack as moto's CloudFormation created it.
type deployed struct {
	cfg     aws.Config
	outputs map[string]string
	// physical ids by logical id
	resources map[string]string
}

// deploy does what `cdk deploy` does, against moto: publishes the file
// assets (each function's code as a zip) to the bootstrap bucket, sets the
// bootstrap version parameter the template's rule reads, and creates the
// stack from the synthesized template.
func deploy(t *testing.T, cfg aws.Config, syn *synthesized, stack string) deployed {
	t.Helper()
	ctx := context.Background()
	outDir := syn.outDir
	var manifest struct {
		Files map[string]struct {
			Source struct {
				Path      string `json:"path"`
				Packaging string `json:"packaging"`
			} `json:"source"`
			Destinations map[string]struct {
				BucketName string `json:"bucketName"`
				ObjectKey  string `json:"objectKey"`
			} `json:"destinations"`
		} `json:"files"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(outDir, stack+".assets.json")), &manifest); err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	sub := strings.NewReplacer("${AWS::AccountId}", testenv.AccountID, "${AWS::Region}", cfg.Region, "${AWS::Partition}", "aws")
	made := map[string]bool{}
	for _, f := range manifest.Files {
		src := filepath.Join(outDir, f.Source.Path)
		var body []byte
		if f.Source.Packaging == "zip" {
			body = zipDir(t, src)
		} else {
			body = readFile(t, src)
		}
		for _, d := range f.Destinations {
			bucket := sub.Replace(d.BucketName)
			if !made[bucket] {
				if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
					t.Fatalf("bootstrap bucket: %v", err)
				}
				made[bucket] = true
			}
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(d.ObjectKey), Body: bytes.NewReader(body)}); err != nil {
				t.Fatalf("publish %s: %v", f.Source.Path, err)
			}
		}
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/cdk-bootstrap/hnb659fds/version"), Value: aws.String("30"), Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(outDir, stack+".template.json")), &tmpl); err != nil {
		t.Fatal(err)
	}
	dropMotoGaps(tmpl)
	// moto gap: its EventBridge answers PutEvents with a 500 when a rule
	// of the bus targets an SNS topic (it cannot deliver there), which
	// fails every step that puts events. The notification rule keeps its
	// pattern and loses its SNS target in the deployed copy;
	// TestNotificationsRouteOnMoto tests that route on its own.
	types := resourcesTypes(tmpl)
	for _, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Events::Rule" {
			continue
		}
		props := res["Properties"].(map[string]any)
		targets, _ := props["Targets"].([]any)
		kept := []any{}
		for _, tg := range targets {
			arn, _ := tg.(map[string]any)["Arn"].(map[string]any)
			ref, _ := arn["Ref"].(string)
			if types[ref] != "AWS::SNS::Topic" {
				kept = append(kept, tg)
			}
		}
		if len(kept) == 0 {
			delete(props, "Targets")
		} else {
			props["Targets"] = kept
		}
	}
	body, _ := json.Marshal(tmpl)
	cf := cloudformation.NewFromConfig(cfg)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName: aws.String(stack), TemplateBody: aws.String(string(body)),
		Capabilities: []cftypes.Capability{cftypes.CapabilityCapabilityIam, cftypes.CapabilityCapabilityNamedIam},
	}); err != nil {
		t.Fatalf("create stack: %v", err)
	}
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		t.Fatal(err)
	}
	st := out.Stacks[0]
	if st.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s %s", stack, st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	d := deployed{cfg: cfg, outputs: map[string]string{}, resources: map[string]string{}}
	for _, o := range st.Outputs {
		d.outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	pages := cloudformation.NewListStackResourcesPaginator(cf, &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)})
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.StackResourceSummaries {
			d.resources[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
		}
	}
	return d
}

// motoGapTypes are the resource types moto's CloudFormation lacks among
// the stack's: it skips them (a Ref to one is null) but fails the whole
// stack on a Fn::GetAtt of one. The HTTP APIs (AWS::ApiGatewayV2), the
// console's user pool (AWS::Cognito) and its site's distribution
// (AWS::CloudFront).
var motoGapTypes = []string{"AWS::ApiGatewayV2::", "AWS::Cognito::", "AWS::CloudFront::"}

// dropMotoGaps cuts from the deployed copy of a template what moto's
// CloudFormation cannot create; each cut names its gap.
func dropMotoGaps(tmpl map[string]any) {
	resources := tmpl["Resources"].(map[string]any)
	types := resourcesTypes(tmpl)
	gap := map[string]bool{}
	for id, typ := range types {
		for _, prefix := range motoGapTypes {
			if strings.HasPrefix(typ, prefix) {
				gap[id] = true
			}
		}
	}
	// moto gap: an output that reads an attribute of, or refers to, a
	// resource moto skipped (the APIs' URLs, the console's URL, the pool
	// and its client) fails the stack or has no value: dropped.
	outputs, _ := tmpl["Outputs"].(map[string]any)
	for name, o := range outputs {
		refs, atts := references(o.(map[string]any)["Value"])
		if anyOf(append(refs, atts...), gap) {
			delete(outputs, name)
		}
	}
	dropped := map[string]bool{}
	for id, r := range resources {
		typ := types[id]
		_, atts := references(r.(map[string]any)["Properties"])
		switch {
		// moto gap: its CloudFormation runs a custom resource by invoking
		// its provider function and waiting for the answer. The catalog
		// load's provider is the CDK's Node.js function and the console's
		// file deployment's the CDK's Python function with the AWS CLI
		// layer, which the test's Lambda runtime stand-in cannot run, so
		// the stack would never complete. Both are left out of the deployed
		// copy: TestEngine's "catalog load" makes its call itself, from the
		// template's properties; the console's files (and the distribution
		// they are for) are TestConsoleDeployment's.
		case typ == catalogLoadType || typ == "Custom::CDKBucketDeployment":
			dropped[id] = true
		// moto gap: a resource that reads an attribute of a skipped one
		// (the user pool's permission to invoke the token trigger reads
		// the pool's ARN) fails the stack: dropped with what it reads.
		case !gap[id] && anyOf(atts, gap):
			dropped[id] = true
		}
	}
	for id := range dropped {
		delete(resources, id)
	}
	// What depended on a dropped resource no longer waits for it.
	for _, r := range resources {
		res := r.(map[string]any)
		if deps := strs(res["DependsOn"]); len(deps) > 0 {
			var kept []any
			for _, d := range deps {
				if !dropped[d] {
					kept = append(kept, d)
				}
			}
			if len(kept) == 0 {
				delete(res, "DependsOn")
			} else {
				res["DependsOn"] = kept
			}
		}
	}
}

// references lists the logical ids a template value names with Ref and
// with Fn::GetAtt (pseudo parameters left out).
func references(v any) (refs, atts []string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "Ref":
				if id, ok := x.(string); ok && !strings.HasPrefix(id, "AWS::") {
					refs = append(refs, id)
				}
			case "Fn::GetAtt":
				if parts, ok := x.([]any); ok && len(parts) > 0 {
					atts = append(atts, fmt.Sprint(parts[0]))
				}
			default:
				r, a := references(x)
				refs, atts = append(refs, r...), append(atts, a...)
			}
		}
	case []any:
		for _, x := range v {
			r, a := references(x)
			refs, atts = append(refs, r...), append(atts, a...)
		}
	}
	return refs, atts
}

// anyOf says whether one of ids is in set.
func anyOf(ids []string, set map[string]bool) bool {
	for _, id := range ids {
		if set[id] {
			return true
		}
	}
	return false
}

// resourcesTypes maps a template's logical ids to their resource types.
func resourcesTypes(tmpl map[string]any) map[string]string {
	m := map[string]string{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		m[id], _ = r.(map[string]any)["Type"].(string)
	}
	return m
}

// zipDir is a directory as a zip, as the CDK packages a file asset
// (executables keep their mode).
func zipDir(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name, _ = filepath.Rel(dir, path)
		h.Method = zip.Deflate
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = w.Write(readFile(t, path))
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDropMotoGaps: the deployed copy of the synthesized template reads no
// attribute of a resource moto skips, has no custom resource moto would
// wait on forever, and no output naming a skipped resource; the rest is
// kept (the trigger function, the role policies, the console's buckets).
func TestDropMotoGaps(t *testing.T) {
	s := defaultApp(t)
	var tmpl map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(s.outDir, MainStackName+".template.json")), &tmpl); err != nil {
		t.Fatal(err)
	}
	before := len(tmpl["Resources"].(map[string]any))
	dropMotoGaps(tmpl)
	resources := tmpl["Resources"].(map[string]any)
	types := resourcesTypes(tmpl)
	gap := map[string]bool{}
	for id, typ := range types {
		for _, prefix := range motoGapTypes {
			if strings.HasPrefix(typ, prefix) {
				gap[id] = true
			}
		}
	}
	for id, r := range resources {
		res := r.(map[string]any)
		if strings.HasPrefix(types[id], "Custom::") {
			t.Errorf("%s: custom resource %s kept", id, types[id])
		}
		if _, atts := references(res["Properties"]); !gap[id] && anyOf(atts, gap) {
			t.Errorf("%s reads an attribute of a resource moto skips: %v", id, atts)
		}
		for _, d := range strs(res["DependsOn"]) {
			if _, ok := resources[d]; !ok {
				t.Errorf("%s depends on %s, which is gone", id, d)
			}
		}
	}
	for name, o := range tmpl["Outputs"].(map[string]any) {
		if refs, atts := references(o.(map[string]any)["Value"]); anyOf(append(refs, atts...), gap) {
			t.Errorf("output %s names a resource moto skips", name)
		}
	}
	for _, keep := range []string{s.logicalID(s.stacks.Main.Functions.ByName[FnTokenScopes]), s.logicalID(s.stacks.Main.RolePolicies[citadel.RoleAdmin]),
		s.logicalID(s.stacks.Main.Console.Bucket), s.logicalID(s.stacks.Main.Console.Logs)} {
		if _, ok := resources[keep]; !ok {
			t.Errorf("%s was dropped", keep)
		}
	}
	t.Logf("%d of %d resources kept (moto skips %d more)", len(resources), before, len(gap))
}
