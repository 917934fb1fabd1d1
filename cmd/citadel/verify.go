package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
)

// verifyTimeout bounds one collector in one scope during a verify.
const verifyTimeout = 30 * time.Second

// VerifyReport is what integrations verify found (its -o json).
type VerifyReport struct {
	IntegrationID string `json:"integration_id"`
	AccountID     string `json:"account_id"`
	RoleARN       string `json:"role_arn,omitempty"`
	// AssumedAs is the identity the role's credentials have.
	AssumedAs string          `json:"assumed_as"`
	Regions   []string        `json:"regions"`
	Services  []ServiceAccess `json:"services"`
	Denied    int             `json:"denied"`
}

// ServiceAccess is one service's scopes: what the scanner may list there.
type ServiceAccess struct {
	Service string        `json:"service"`
	Scopes  []ScopeAccess `json:"scopes"`
}

// ScopeAccess is one collector in one region (or "global").
type ScopeAccess struct {
	ResourceType string `json:"resource_type"`
	Region       string `json:"region"`
	OK           bool   `json:"ok"`
	Resources    int    `json:"resources"`
	Code         string `json:"code,omitempty"`
	Error        string `json:"error,omitempty"`
}

// accessError is a verify that found scopes the scanner may not read.
type accessError struct{ denied, total int }

func (e *accessError) Error() string {
	return fmt.Sprintf("the scanner may not read %d of %d scopes (see above)", e.denied, e.total)
}

// integrationsVerify assumes the integration's role with the caller's
// credentials, as the scanners do with theirs, and runs every inventory
// collector once: what it may list, service by service.
func integrationsVerify(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("integrations verify", "integrations verify ID [--regions R,...]", &t)
	regionsFlag := fs.String("regions", "", "comma-separated regions to try (default: the integration's, else every enabled region)")
	pos, r, err := t.open(ctx, out, fs, args, "ID")
	if err != nil {
		return err
	}
	var in citadel.Integration
	if _, err := r.api.Do(ctx, http.MethodGet, "/integrations/"+url.PathEscape(pos[0]), nil, nil, &in); err != nil {
		return err
	}
	rep, err := verifyAccess(ctx, r.cfg, in, splitList(*regionsFlag))
	if err != nil {
		return err
	}
	if r.json {
		if err := writeJSON(out, rep); err != nil {
			return err
		}
	} else if err := printVerify(out, rep); err != nil {
		return err
	}
	if rep.Denied > 0 {
		total := 0
		for _, s := range rep.Services {
			total += len(s.Scopes)
		}
		return &accessError{denied: rep.Denied, total: total}
	}
	return nil
}

// verifyAccess assumes the role and runs the collectors.
func verifyAccess(ctx context.Context, cfg aws.Config, in citadel.Integration, regions []string) (VerifyReport, error) {
	rep := VerifyReport{IntegrationID: in.ID, AccountID: in.AccountID, RoleARN: in.RoleARN}
	scan := awsx.AssumeRole(cfg, in.RoleARN, in.ExternalID, "citadel-verify")
	id, err := sts.NewFromConfig(scan).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return rep, fmt.Errorf("assume %s with its ExternalId: %w (is the scanner role deployed in account %s?)", orDash(in.RoleARN), err, in.AccountID)
	}
	rep.AssumedAs = aws.ToString(id.Arn)
	if got := aws.ToString(id.Account); got != in.AccountID {
		return rep, fmt.Errorf("the role's credentials are of account %s, not of the integration's account %s", got, in.AccountID)
	}
	if len(regions) == 0 {
		regions = in.Regions
	}
	if len(regions) == 0 {
		if regions, err = inventory.EnabledRegions(ctx, scan); err != nil {
			return rep, fmt.Errorf("enabled regions of account %s: %w", in.AccountID, err)
		}
	}
	rep.Regions = regions
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	results := inventory.Run(ctx, scan, in.AccountID, regions, inventory.Default(), inventory.Options{Timeout: verifyTimeout, Log: quiet})
	by := map[string]*ServiceAccess{}
	for _, res := range results {
		s := by[res.Service]
		if s == nil {
			s = &ServiceAccess{Service: res.Service}
			by[res.Service] = s
		}
		sc := ScopeAccess{ResourceType: res.ResourceType, Region: res.Region, OK: res.Err == nil, Resources: len(res.Batch.Assets)}
		if res.Err != nil {
			sc.Code, sc.Error = inventory.ErrorCode(res.Err), res.Err.Error()
			rep.Denied++
		}
		s.Scopes = append(s.Scopes, sc)
	}
	for _, s := range by {
		rep.Services = append(rep.Services, *s)
	}
	sort.Slice(rep.Services, func(i, j int) bool { return rep.Services[i].Service < rep.Services[j].Service })
	return rep, nil
}

func printVerify(w io.Writer, rep VerifyReport) error {
	fmt.Fprintf(w, "assumed %s as %s\nregions %s\n\n", orDash(rep.RoleARN), rep.AssumedAs, strings.Join(rep.Regions, " "))
	var rows [][]string
	for _, s := range rep.Services {
		ok, resources := 0, 0
		var denied []string
		for _, sc := range s.Scopes {
			if sc.OK {
				ok++
				resources += sc.Resources
				continue
			}
			denied = append(denied, fmt.Sprintf("%s in %s: %s", sc.ResourceType, sc.Region, orDash(sc.Code)))
		}
		status := "readable"
		if len(denied) > 0 {
			status = "NOT READABLE: " + strings.Join(denied, "; ")
		}
		rows = append(rows, []string{s.Service, fmt.Sprintf("%d/%d", ok, len(s.Scopes)), fmt.Sprint(resources), status})
	}
	return table(w, "SERVICE\tSCOPES OK\tRESOURCES\tACCESS", rows)
}
