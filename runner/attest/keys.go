package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// Key is a signing key read from a PEM file: ed25519 or ECDSA P-256. It
// implements dsse.Signer.
type Key struct {
	priv  crypto.Signer
	keyID string
}

// PublicKey is a verification key read from a PEM file. It implements
// dsse.Verifier.
type PublicKey struct {
	pub   crypto.PublicKey
	keyID string
}

// LoadKey reads a private key from a PEM file ("PRIVATE KEY" in PKCS#8, as
// `openssl genpkey` writes, or "EC PRIVATE KEY"). The error names the file,
// never the key's bytes.
func LoadKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return k, nil
}

// ParseKey decodes a PEM private key (see LoadKey).
func ParseKey(data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q: want PRIVATE KEY (PKCS#8) or EC PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", block.Type, err)
	}
	var signer crypto.Signer
	switch k := parsed.(type) {
	case ed25519.PrivateKey:
		signer = k
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA curve %s: want P-256", k.Curve.Params().Name)
		}
		signer = k
	default:
		return nil, fmt.Errorf("key type %T: want ed25519 or ECDSA P-256", parsed)
	}
	id, err := dsse.SHA256KeyID(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	return &Key{priv: signer, keyID: id}, nil
}

// Public returns the key's public half.
func (k *Key) Public() *PublicKey { return &PublicKey{pub: k.priv.Public(), keyID: k.keyID} }

// KeyID is the SSH-style SHA256 fingerprint DSSE tools compute for the key.
func (k *Key) KeyID() (string, error) { return k.keyID, nil }

// Sign signs data: ed25519 over the message, ECDSA over its sha256 (ASN.1
// DER, as cosign and the DSSE reference implementations expect).
func (k *Key) Sign(_ context.Context, data []byte) ([]byte, error) {
	if _, ok := k.priv.(ed25519.PrivateKey); ok {
		return k.priv.Sign(rand.Reader, data, crypto.Hash(0))
	}
	sum := sha256.Sum256(data)
	return k.priv.Sign(rand.Reader, sum[:], crypto.SHA256)
}

// LoadPublicKey reads a PEM "PUBLIC KEY" (PKIX) file, ed25519 or ECDSA P-256.
func LoadPublicKey(path string) (*PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("verification key: %w", err)
	}
	k, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("verification key %s: %w", path, err)
	}
	return k, nil
}

// ParsePublicKey decodes a PEM public key (see LoadPublicKey).
func ParsePublicKey(data []byte) (*PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("want a PEM PUBLIC KEY block")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("decode PUBLIC KEY: %w", err)
	}
	switch k := parsed.(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA curve %s: want P-256", k.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("key type %T: want ed25519 or ECDSA P-256", parsed)
	}
	id, err := dsse.SHA256KeyID(parsed)
	if err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	return &PublicKey{pub: parsed, keyID: id}, nil
}

// MarshalPEM encodes the public key as a PEM PUBLIC KEY block, the form
// cosign's --key and LoadPublicKey read.
func (p *PublicKey) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(p.pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// KeyID is the SSH-style SHA256 fingerprint of the key.
func (p *PublicKey) KeyID() (string, error) { return p.keyID, nil }

// Public returns the crypto public key.
func (p *PublicKey) Public() crypto.PublicKey { return p.pub }

// Verify checks sig over data (see Key.Sign for the schemes).
func (p *PublicKey) Verify(_ context.Context, data, sig []byte) error {
	switch k := p.pub.(type) {
	case ed25519.PublicKey:
		if ed25519.Verify(k, data, sig) {
			return nil
		}
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(data)
		if ecdsa.VerifyASN1(k, sum[:], sig) {
			return nil
		}
	}
	return errors.New("signature does not verify")
}
