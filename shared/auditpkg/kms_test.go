package auditpkg

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
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
	"github.com/google/go-cmp/cmp"
)

// fakeKMS is KMS as its API reference describes Sign and GetPublicKey: a
// DIGEST message is the digest, signed as is (RSASSA-PSS with a 32-byte
// salt). It records the Sign requests.
type fakeKMS struct {
	arn   string
	spec  kmstypes.KeySpec
	usage kmstypes.KeyUsageType
	algs  []kmstypes.SigningAlgorithmSpec
	key   crypto.Signer
	pub   crypto.PublicKey // the key GetPublicKey says, key.Public() when nil
	err   error
	signs []kms.SignInput
}

func (f *fakeKMS) GetPublicKey(_ context.Context, in *kms.GetPublicKeyInput, _ ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	pub := f.pub
	if pub == nil {
		pub = f.key.Public()
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return &kms.GetPublicKeyOutput{KeyId: aws.String(f.arn), KeySpec: f.spec, KeyUsage: f.usage, SigningAlgorithms: f.algs, PublicKey: der}, nil
}

func (f *fakeKMS) Sign(_ context.Context, in *kms.SignInput, _ ...func(*kms.Options)) (*kms.SignOutput, error) {
	f.signs = append(f.signs, *in)
	if in.MessageType != kmstypes.MessageTypeDigest || len(in.Message) != sha256.Size {
		return nil, fmt.Errorf("fake kms: wants a SHA-256 DIGEST, got %s of %d bytes", in.MessageType, len(in.Message))
	}
	var sig []byte
	var err error
	switch k := f.key.(type) {
	case *ecdsa.PrivateKey:
		sig, err = ecdsa.SignASN1(rand.Reader, k, in.Message)
	case *rsa.PrivateKey:
		sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA256, in.Message, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	return &kms.SignOutput{KeyId: aws.String(f.arn), Signature: sig, SigningAlgorithm: in.SigningAlgorithm}, err
}

const fakeARN = "arn:aws:kms:eu-west-1:111122223333:key/8f1d6a52-7c0e-4b8e-9d55-1f1b0c3e2a77"

// TestKMSSigner: KMSSigner against KMS's documented behaviour: it signs
// the SHA-256 of manifest.json as a DIGEST with the key's ARN, and the
// package verifies, for an ECC_NIST_P256 and an RSA key.
func TestKMSSigner(t *testing.T) {
	ec := testSigner(t, "signer-p256.key.pem", "").key
	rk := testSigner(t, "signer-rsa2048.key.pem", "").key
	cases := []struct {
		spec kmstypes.KeySpec
		key  crypto.Signer
		alg  string
		algs []kmstypes.SigningAlgorithmSpec
	}{
		{kmstypes.KeySpecEccNistP256, ec, AlgorithmECDSASHA256, []kmstypes.SigningAlgorithmSpec{kmstypes.SigningAlgorithmSpecEcdsaSha256}},
		{kmstypes.KeySpecRsa2048, rk, AlgorithmRSAPSSSHA256, []kmstypes.SigningAlgorithmSpec{kmstypes.SigningAlgorithmSpecRsassaPkcs1V15Sha256, kmstypes.SigningAlgorithmSpecRsassaPssSha256}},
	}
	for _, tc := range cases {
		t.Run(string(tc.spec), func(t *testing.T) {
			ctx := context.Background()
			f := &fakeKMS{arn: fakeARN, spec: tc.spec, usage: kmstypes.KeyUsageTypeSignVerify, algs: tc.algs, key: tc.key}
			s, err := NewKMSSigner(ctx, f, "alias/citadel-audit-packages")
			if err != nil {
				t.Fatal(err)
			}
			if s.KeyID() != fakeARN || s.Algorithm() != tc.alg {
				t.Fatalf("key %s algorithm %s, want %s %s", s.KeyID(), s.Algorithm(), fakeARN, tc.alg)
			}
			pkg := build(t, testPackage(), s)
			rep := verify(pkg, VerifyOptions{RequireSignature: true, PublicKeyPEM: publicPEM(t, s)})
			if !rep.OK() || !rep.Signature.ExpectedKey || rep.Signature.KeyID != fakeARN {
				t.Fatalf("report: %+v", rep)
			}
			digest := sha256.Sum256(byName(readZip(t, pkg))[ManifestFile])
			want := []kms.SignInput{{KeyId: aws.String(fakeARN), Message: digest[:], MessageType: kmstypes.MessageTypeDigest, SigningAlgorithm: kmstypes.SigningAlgorithmSpec(tc.alg)}}
			if diff := cmp.Diff(want, f.signs, cmp.AllowUnexported(kms.SignInput{})); diff != "" {
				t.Errorf("sign requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewKMSSignerRefuses: keys a package is not signed with.
func TestNewKMSSignerRefuses(t *testing.T) {
	ec := testSigner(t, "signer-p256.key.pem", "").key
	rk := testSigner(t, "signer-rsa2048.key.pem", "").key
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv := kmstypes.KeyUsageTypeSignVerify
	cases := []struct {
		name string
		f    *fakeKMS
		want string
	}{
		{"GetPublicKey fails", &fakeKMS{err: errors.New("AccessDeniedException")}, "public key of alias/k: AccessDeniedException"},
		{"an encryption key", &fakeKMS{arn: fakeARN, spec: kmstypes.KeySpecRsa2048, usage: kmstypes.KeyUsageTypeEncryptDecrypt, key: rk}, `usage "ENCRYPT_DECRYPT", not SIGN_VERIFY`},
		{"a secp256k1 key", &fakeKMS{arn: fakeARN, spec: kmstypes.KeySpecEccSecgP256k1, usage: sv, key: ec}, "is ECC_SECG_P256K1"},
		{"a P-384 key", &fakeKMS{arn: fakeARN, spec: kmstypes.KeySpecEccNistP384, usage: sv, key: p384}, "is ECC_NIST_P384"},
		{"no PSS offered", &fakeKMS{arn: fakeARN, spec: kmstypes.KeySpecRsa2048, usage: sv, key: rk,
			algs: []kmstypes.SigningAlgorithmSpec{kmstypes.SigningAlgorithmSpecRsassaPkcs1V15Sha256}}, "does not offer RSASSA_PSS_SHA_256"},
		{"a key not of its spec", &fakeKMS{arn: fakeARN, spec: kmstypes.KeySpecEccNistP256, usage: sv, key: ec, pub: rk.Public()}, "needs an ECDSA P-256 key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewKMSSigner(context.Background(), tc.f, "alias/k")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
		})
	}
}

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

// rawKMSSigner is KMSSigner sending the whole manifest (MessageType RAW,
// at most 4,096 bytes) instead of its digest, which KMS signs alike: on
// moto, which ignores MessageType and always hashes the message (moto
// 5.2.5, kms/responses.py sign), so a DIGEST is hashed twice.
type rawKMSSigner struct {
	*KMSSigner
	client *kms.Client
}

func (s rawKMSSigner) Sign(ctx context.Context, message []byte) ([]byte, error) {
	if len(message) > 4096 {
		return nil, fmt.Errorf("raw kms signer: a %d-byte manifest is over KMS's 4,096 bytes", len(message))
	}
	out, err := s.client.Sign(ctx, &kms.SignInput{KeyId: aws.String(s.KeyID()), Message: message,
		MessageType: kmstypes.MessageTypeRaw, SigningAlgorithm: kmstypes.SigningAlgorithmSpec(s.Algorithm())})
	if err != nil {
		return nil, err
	}
	return out.Signature, nil
}

// TestKMSSignerOnMoto: a package signed with a KMS key on moto, of each
// spec: the public key and the ARN are KMS's; signed through KMS, the
// package verifies offline against the key KMS gives (the message sent
// RAW, as moto needs); signed as KMSSigner signs (a DIGEST), it fails
// only on the signature, which is moto's: it signed the digest's SHA-256.
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

			// Signed through KMS (RAW): the package verifies against KMS's key.
			pkg := build(t, testPackage(), rawKMSSigner{s, client})
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

			// Signed as KMSSigner signs (DIGEST): moto signs SHA-256(digest).
			pkg = build(t, testPackage(), s)
			rep = verify(pkg, VerifyOptions{PublicKeyPEM: kmsPEM})
			want := []Problem{{SignatureFile, "signature does not verify with public-key.pem"}}
			if rep.OK() {
				t.Fatal("a DIGEST signature from moto verifies: moto now honours MessageType DIGEST; drop rawKMSSigner and expect OK")
			}
			if diff := cmp.Diff(want, rep.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			files := byName(readZip(t, pkg))
			digest := sha256.Sum256(files[ManifestFile])
			twice := sha256.Sum256(digest[:])
			k, _, err := ParsePublicKey(files[PublicKeyFile])
			if err != nil {
				t.Fatal(err)
			}
			if !verifyDigest(tc.alg, k, twice[:], files[SignatureFile]) {
				t.Error("moto's DIGEST signature is not of SHA-256(digest) either")
			}
			v, err := client.Verify(ctx, &kms.VerifyInput{KeyId: aws.String(arn), Message: digest[:], MessageType: kmstypes.MessageTypeDigest,
				Signature: files[SignatureFile], SigningAlgorithm: kmstypes.SigningAlgorithmSpec(tc.alg)})
			if err != nil || !v.SignatureValid {
				t.Errorf("moto's own Verify of its DIGEST signature: %v, %v", v, err)
			}
		})
	}
}

// verifyDigest checks a signature over a digest given as is.
func verifyDigest(alg string, pub crypto.PublicKey, digest, sig []byte) bool {
	if alg == AlgorithmECDSASHA256 {
		return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest, sig)
	}
	return rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
}
