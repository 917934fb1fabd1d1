package auditpkg

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// motoKMS is a KMS client on the local AWS server (scripts/with-moto.sh);
// the test is skipped without one (failed in CI).
func motoKMS(t *testing.T) *kms.Client {
	t.Helper()
	ep := os.Getenv("CITADEL_TEST_ENDPOINT")
	if ep == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CITADEL_TEST_ENDPOINT is not set: CI must run the tests against the local AWS server")
		}
		t.Skip("CITADEL_TEST_ENDPOINT is not set; run under scripts/with-moto.sh")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseEndpoint = aws.String(ep)
	return kms.NewFromConfig(cfg)
}

// TestKMSSignerOnMoto: a package signed with a KMS key on moto, of each
// spec: the public key and the ARN are KMS's; the package verifies offline
// against the key KMS gives, KMS's own Verify accepts the signature of
// its SignedStatement, and a byte flipped is caught.
func TestKMSSignerOnMoto(t *testing.T) {
	client := motoKMS(t)
	cases := []struct {
		spec kmstypes.KeySpec
		alg  string
	}{
		{kmstypes.KeySpecEccNistP256, AlgorithmECDSASHA256},
		{kmstypes.KeySpecRsa2048, AlgorithmRSAPSSSHA256},
		{kmstypes.KeySpecRsa4096, AlgorithmRSAPSSSHA256},
	}
	for _, tc := range cases {
		t.Run(string(tc.spec), func(t *testing.T) {
			ctx := context.Background()
			key, err := client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: tc.spec, KeyUsage: kmstypes.KeyUsageTypeSignVerify,
				Description: aws.String("citadel audit package test")})
			if err != nil {
				t.Fatal(err)
			}
			arn := aws.ToString(key.KeyMetadata.Arn)
			alias := fmt.Sprintf("alias/citadel-auditpkg-%s-%d", strings.ToLower(string(tc.spec)), time.Now().UnixNano())
			if _, err := client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
				t.Fatal(err)
			}
			s, err := NewKMSSigner(ctx, client, alias)
			if err != nil {
				t.Fatal(err)
			}
			// KMS's GetPublicKey names the key by its ARN, moto's by its id.
			if id := s.KeyID(); (id != arn && id != aws.ToString(key.KeyMetadata.KeyId)) || s.Algorithm() != tc.alg {
				t.Fatalf("key %s algorithm %s, want %s %s", id, s.Algorithm(), arn, tc.alg)
			}
			arn = s.KeyID() // the name the manifest carries
			pub, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			kmsPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub.PublicKey})

			pkg := build(t, testPackage(), s)
			if got := byName(readZip(t, pkg))[PublicKeyFile]; !bytes.Equal(got, kmsPEM) {
				t.Errorf("public-key.pem is not KMS's public key:\n%s\nwant\n%s", got, kmsPEM)
			}
			rep := verify(pkg, VerifyOptions{PublicKeyPEM: kmsPEM, RequireSignature: true})
			if !rep.OK() || !rep.Signature.ExpectedKey || rep.Signature.KeyID != arn || rep.Signature.Algorithm != tc.alg {
				t.Fatalf("report: %+v", rep)
			}
			tampered := readZip(t, pkg)
			tampered = change("report.html", flip("SOC 2 posture", 4))(t, tampered)
			rep = verify(writeZip(t, tampered), VerifyOptions{PublicKeyPEM: kmsPEM})
			if len(rep.Problems) != 1 || rep.Problems[0].File != "report.html" {
				t.Errorf("a report byte flipped: %v", rep.Problems)
			}

			files := byName(readZip(t, pkg))
			v, err := client.Verify(ctx, &kms.VerifyInput{KeyId: aws.String(arn), Message: SignedStatement(files[ManifestFile]),
				MessageType: kmstypes.MessageTypeRaw, Signature: files[SignatureFile], SigningAlgorithm: kmstypes.SigningAlgorithmSpec(tc.alg)})
			if err != nil || !v.SignatureValid {
				t.Errorf("KMS's Verify of the package's signature: %v, %v", v, err)
			}
		})
	}
}

// TestNewKMSSignerRefuses: keys a package is not signed with, as KMS (on
// moto) describes them.
func TestNewKMSSignerRefuses(t *testing.T) {
	client := motoKMS(t)
	ctx := context.Background()
	key := func(spec kmstypes.KeySpec, usage kmstypes.KeyUsageType) string {
		out, err := client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.KeyMetadata.Arn)
	}
	cases := []struct {
		name, key, want string
	}{
		{"no such key", "alias/citadel-no-such-key", "public key of alias/citadel-no-such-key"},
		{"an encryption key", key(kmstypes.KeySpecRsa2048, kmstypes.KeyUsageTypeEncryptDecrypt), `usage "ENCRYPT_DECRYPT", not SIGN_VERIFY`},
		{"a secp256k1 key", key(kmstypes.KeySpecEccSecgP256k1, kmstypes.KeyUsageTypeSignVerify), "is ECC_SECG_P256K1"},
		{"a P-384 key", key(kmstypes.KeySpecEccNistP384, kmstypes.KeyUsageTypeSignVerify), "is ECC_NIST_P384"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewKMSSigner(ctx, client, tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
}
