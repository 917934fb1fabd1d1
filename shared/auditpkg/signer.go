package auditpkg

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Signer signs a package's manifest.
type Signer interface {
	// Sign returns the signature of message (Build gives the manifest's
	// SignedStatement) with Algorithm: for AlgorithmECDSASHA256 the ASN.1
	// DER signature of its SHA-256, for AlgorithmRSAPSSSHA256 the
	// RSASSA-PSS signature of its SHA-256.
	Sign(ctx context.Context, message []byte) ([]byte, error)
	// PublicKey is the key Sign's signatures verify with (an
	// *ecdsa.PublicKey on P-256 or an *rsa.PublicKey).
	PublicKey(ctx context.Context) (crypto.PublicKey, error)
	// Algorithm is AlgorithmECDSASHA256 or AlgorithmRSAPSSSHA256.
	Algorithm() string
	// KeyID names the key in the manifest (a KMS key's ARN).
	KeyID() string
}

// KMSClient is what KMSSigner calls of AWS KMS (*kms.Client).
type KMSClient interface {
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// KMSSigner signs with an asymmetric AWS KMS key of usage SIGN_VERIFY:
// ECC_NIST_P256 with ECDSA_SHA_256, or RSA_2048, RSA_3072 or RSA_4096 with
// RSASSA_PSS_SHA_256. Build has it sign the package's SignedStatement (the
// SHA-256 of the manifest) as a RAW message; the private key never leaves KMS.

type KMSSigner struct {
	client KMSClient
	keyARN string
	alg    string
	pub    crypto.PublicKey
}

// NewKMSSigner reads the key's public key and spec (GetPublicKey) and
// picks the signing algorithm. keyID may be a key id, an ARN or an alias;
// the signer signs with the key GetPublicKey named (KMS gives its ARN),
// which the manifest names, so an alias moved later does not change the
// key of a signer made before.
func NewKMSSigner(ctx context.Context, client KMSClient, keyID string) (*KMSSigner, error) {
	out, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("kms signer: public key of %s: %w", keyID, err)
	}
	arn := aws.ToString(out.KeyId)
	if arn == "" {
		arn = keyID
	}
	if out.KeyUsage != kmstypes.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("kms signer: key %s has usage %q, not SIGN_VERIFY", arn, out.KeyUsage)
	}
	spec := out.KeySpec
	if spec == "" { // an older answer (moto's): only the deprecated name
		spec = kmstypes.KeySpec(out.CustomerMasterKeySpec)
	}
	var alg string
	switch spec {
	case kmstypes.KeySpecEccNistP256:
		alg = AlgorithmECDSASHA256
	case kmstypes.KeySpecRsa2048, kmstypes.KeySpecRsa3072, kmstypes.KeySpecRsa4096:
		alg = AlgorithmRSAPSSSHA256
	default:
		return nil, fmt.Errorf("kms signer: key %s is %s; a package is signed with ECC_NIST_P256 or RSA_2048/3072/4096", arn, orNone(string(spec)))
	}
	if len(out.SigningAlgorithms) > 0 && !slices.Contains(out.SigningAlgorithms, kmstypes.SigningAlgorithmSpec(alg)) {
		return nil, fmt.Errorf("kms signer: key %s does not offer %s (it offers %v)", arn, alg, out.SigningAlgorithms)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("kms signer: public key of %s: %w", arn, err)
	}
	if err := checkKey(alg, pub); err != nil {
		return nil, fmt.Errorf("kms signer: key %s: %w", arn, err)
	}
	return &KMSSigner{client: client, keyARN: arn, alg: alg, pub: pub}, nil
}

// Sign has KMS sign message (MessageType RAW: KMS hashes it with SHA-256
// and signs the hash). A package signs its SignedStatement, 97 bytes, well
// under KMS's 4096-byte limit of a RAW message.
func (s *KMSSigner) Sign(ctx context.Context, message []byte) ([]byte, error) {
	if len(message) > MaxRawMessage {
		return nil, fmt.Errorf("kms signer: a message of %d bytes is over KMS's %d (sign a SignedStatement)", len(message), MaxRawMessage)
	}
	out, err := s.client.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.keyARN),
		Message:          message,
		MessageType:      kmstypes.MessageTypeRaw,
		SigningAlgorithm: kmstypes.SigningAlgorithmSpec(s.alg),
	})
	if err != nil {
		return nil, fmt.Errorf("kms signer: sign with %s: %w", s.keyARN, err)
	}
	if out.SigningAlgorithm != "" && string(out.SigningAlgorithm) != s.alg {
		return nil, fmt.Errorf("kms signer: %s signed with %s, not %s", s.keyARN, out.SigningAlgorithm, s.alg)
	}
	if len(out.Signature) == 0 {
		return nil, fmt.Errorf("kms signer: %s returned no signature", s.keyARN)
	}
	return out.Signature, nil
}

// PublicKey is the key's public key, as GetPublicKey gave it.
func (s *KMSSigner) PublicKey(context.Context) (crypto.PublicKey, error) { return s.pub, nil }

// Algorithm is ECDSA_SHA_256 or RSASSA_PSS_SHA_256.
func (s *KMSSigner) Algorithm() string { return s.alg }

// KeyID is the key's ARN (as GetPublicKey named it).
func (s *KMSSigner) KeyID() string { return s.keyARN }

// checkKey says whether a public key is of the algorithm's kind.
func checkKey(alg string, pub crypto.PublicKey) error {
	switch alg {
	case AlgorithmECDSASHA256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("a %s key, but %s needs an ECDSA P-256 key", keyKind(pub), alg)
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("an ECDSA key on %s, but %s needs P-256", k.Curve.Params().Name, alg)
		}
	case AlgorithmRSAPSSSHA256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("a %s key, but %s needs an RSA key", keyKind(pub), alg)
		}
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("an RSA key of %d bits, but %s needs at least 2048", k.N.BitLen(), alg)
		}
	default:
		return fmt.Errorf("signing algorithm %q is not %s or %s", alg, AlgorithmECDSASHA256, AlgorithmRSAPSSSHA256)
	}
	return nil
}

func keyKind(pub crypto.PublicKey) string {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA"
	case *rsa.PublicKey:
		return "RSA"
	}
	return fmt.Sprintf("%T", pub)
}

// MaxRawMessage is the longest message KMS signs as it is (RAW).
const MaxRawMessage = 4096

// SignedStatement is what a package's signature signs: the SHA-256 of its
// manifest.json, as "citadel-package-manifest-sha256:<hex>". Signing this
// short statement rather than the manifest keeps every package, however
// many files it lists, within what KMS signs as a RAW message, and the
// same bytes are signed wherever the signer runs.
func SignedStatement(manifest []byte) []byte {
	sum := sha256.Sum256(manifest)
	return []byte(StatementPrefix + hex.EncodeToString(sum[:]))
}

// StatementPrefix starts a SignedStatement.
const StatementPrefix = "citadel-package-manifest-sha256:"

// verifySignature checks sig over message with pub by the algorithm.
// RSA-PSS accepts any salt length (KMS uses 32 bytes; other signers may
// not).
func verifySignature(alg string, pub crypto.PublicKey, message, sig []byte) error {
	if err := checkKey(alg, pub); err != nil {
		return err
	}
	digest := sha256.Sum256(message)
	switch alg {
	case AlgorithmECDSASHA256:
		if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], sig) {
			return errors.New("ecdsa: verification error")
		}
		return nil
	default: // AlgorithmRSAPSSSHA256, checkKey said so
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
}

// EncodePublicKey is pub as PEM "PUBLIC KEY" (SubjectPublicKeyInfo DER),
// and the SHA-256 of that DER (its fingerprint).
func EncodePublicKey(pub crypto.PublicKey) (pemBytes []byte, fingerprint string, err error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, "", fmt.Errorf("public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), hexSHA256(der), nil
}

// ParsePublicKey reads a PEM "PUBLIC KEY" block (the first one), and
// returns the key and its fingerprint (the SHA-256 of its DER).
func ParsePublicKey(b []byte) (crypto.PublicKey, string, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, "", errors.New(`no PEM "PUBLIC KEY" block`)
		}
		if blk.Type != "PUBLIC KEY" {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, "", fmt.Errorf("PEM PUBLIC KEY: %w", err)
		}
		return pub, hexSHA256(blk.Bytes), nil
	}
}
