// Package attest owns imagebot's signed provenance: an in-toto Statement
// whose subjects are a build's artifacts (by sha256) with a SLSA provenance
// v1 predicate made from the build's manifest, in a DSSE envelope signed with
// an ed25519 or ECDSA P-256 key from a file; and the verification of such an
// envelope against public keys, the artifacts' digests and the repository a
// reader expects. The formats come from the in-toto attestation Go bindings
// and go-securesystemslib's DSSE package, so third-party tools (cosign
// verify-blob-attestation) read what this package writes.
package attest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/imagebot/imagebot/runner/manifest"
)

const (
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// PredicateType is SLSA provenance v1's predicate type.
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names imagebot's build (a Packer build of one image of a
	// template repository); externalParameters are defined in docs/provenance.md.
	BuildType = "https://github.com/imagebot/imagebot/buildtypes/packer/v1"
	// DefaultBuilderID is the builder id when the configuration names none.
	DefaultBuilderID = "https://github.com/imagebot/imagebot"
)

// Config is the signing configuration; the bot's and runner's configuration
// files embed it under "provenance:".
type Config struct {
	// KeyFile is a PEM private key (PKCS#8 ed25519 or ECDSA P-256); empty:
	// builds are published without provenance.
	KeyFile string `yaml:"key_file"`
	// BuilderID is runDetails.builder.id: who vouches for the build, e.g.
	// "https://imagebot.example.com/runner/prod".
	BuilderID string `yaml:"builder_id"`
	// Repository names the template repository in the provenance when a
	// manifest does not (manifest.Repository wins).
	Repository string `yaml:"repository"`
}

// Signer makes signed provenance for published builds. Its Attest method
// is what runner/store's PublishOptions.Attester calls.
type Signer struct {
	Key        *Key
	BuilderID  string
	Repository string
}

// NewSigner loads cfg's key; nil, nil when no key is configured (then leave
// PublishOptions.Attester unset: a nil *Signer in the interface is not nil).
func NewSigner(cfg Config) (*Signer, error) {
	if cfg.KeyFile == "" {
		return nil, nil
	}
	k, err := LoadKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	id := cfg.BuilderID
	if id == "" {
		id = DefaultBuilderID
	}
	return &Signer{Key: k, BuilderID: id, Repository: cfg.Repository}, nil
}

// Attest returns the DSSE envelope (one line of JSON) of the provenance of
// the build whose manifest is manifestJSON.
func (s *Signer) Attest(ctx context.Context, manifestJSON []byte) ([]byte, error) {
	if s == nil || s.Key == nil {
		return nil, errors.New("attest: no signing key configured")
	}
	m, err := manifest.Parse(manifestJSON)
	if err != nil {
		return nil, fmt.Errorf("attest: manifest: %w", err)
	}
	st, err := Statement(m, s.BuilderID, s.Repository)
	if err != nil {
		return nil, err
	}
	return s.Sign(ctx, st)
}

// Sign wraps a statement in a signed DSSE envelope, encoded as one JSON line.
func (s *Signer) Sign(ctx context.Context, st *ita.Statement) ([]byte, error) {
	body, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("attest: encode statement: %w", err)
	}
	es, err := dsse.NewEnvelopeSigner(s.Key)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	env, err := es.SignPayload(ctx, PayloadType, body)
	if err != nil {
		return nil, fmt.Errorf("attest: sign: %w", err)
	}
	out, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("attest: encode envelope: %w", err)
	}
	return append(out, '\n'), nil
}

// IsSubject reports whether a manifest file is an artifact the provenance
// vouches for: disks and appliances, not the log, checksum files or manifest.
func IsSubject(f manifest.File) bool {
	switch f.Format {
	case "log", "sha256", "manifest":
		return false
	}
	return !strings.HasSuffix(f.Name, ".sha256")
}

// Statement makes the in-toto statement of a build from its manifest.
func Statement(m *manifest.Manifest, builderID, repository string) (*ita.Statement, error) {
	if m.Repository != "" {
		repository = m.Repository
	}
	if repository == "" {
		return nil, errors.New("attest: no repository: set provenance.repository or the manifest's repository")
	}
	st := &ita.Statement{Type: ita.StatementTypeUri, PredicateType: PredicateType}
	var byproducts []*ita.ResourceDescriptor
	for _, f := range m.Files {
		rd := &ita.ResourceDescriptor{Name: f.Name, Digest: map[string]string{"sha256": f.SHA256}}
		if IsSubject(f) {
			st.Subject = append(st.Subject, rd)
		} else {
			byproducts = append(byproducts, rd)
		}
	}
	if len(st.Subject) == 0 {
		return nil, fmt.Errorf("attest: %s@%s has no artifact to vouch for", m.Image, m.Version)
	}
	ext, err := structpb.NewStruct(map[string]any{
		"repository":   repository,
		"commit":       m.GitSHA,
		"mergeRequest": float64(m.MR),
		"image":        m.Image,
		"version":      m.Version,
		"release":      m.Release,
	})
	if err != nil {
		return nil, fmt.Errorf("attest: external parameters: %w", err)
	}
	internal, err := structpb.NewStruct(map[string]any{
		"inputsDigest": m.InputsDigest,
		"builder":      m.Builder,
		"triggeredBy":  m.TriggeredBy,
	})
	if err != nil {
		return nil, fmt.Errorf("attest: internal parameters: %w", err)
	}
	versions := map[string]string{}
	if m.PackerVersion != "" {
		versions["packer"] = m.PackerVersion
	}
	for _, p := range m.Plugins {
		versions[p.Source] = p.Version
	}
	prov := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   ext,
			InternalParameters:   internal,
			ResolvedDependencies: dependencies(m, repository),
		},
		RunDetails: &slsa.RunDetails{
			Builder:    &slsa.Builder{Id: builderID, Version: versions},
			Metadata:   &slsa.BuildMetadata{InvocationId: m.BuildID},
			Byproducts: byproducts,
		},
	}
	if !m.Started.IsZero() {
		prov.RunDetails.Metadata.StartedOn = timestamppb.New(m.Started)
	}
	if !m.Finished.IsZero() {
		prov.RunDetails.Metadata.FinishedOn = timestamppb.New(m.Finished)
	}
	if err := prov.Validate(); err != nil {
		return nil, fmt.Errorf("attest: provenance: %w", err)
	}
	if st.Predicate, err = toStruct(prov); err != nil {
		return nil, err
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("attest: statement: %w", err)
	}
	return st, nil
}

// dependencies lists what the build consumed: the repository at its commit,
// the image's inputs (by imagebot's inputs digest) and the base release.
func dependencies(m *manifest.Manifest, repository string) []*ita.ResourceDescriptor {
	var out []*ita.ResourceDescriptor
	if m.GitSHA != "" {
		rd := &ita.ResourceDescriptor{Uri: "git+" + repository + "@" + m.GitSHA}
		if len(m.GitSHA) == 40 { // gitCommit is a full SHA-1 commit name
			rd.Digest = map[string]string{"gitCommit": m.GitSHA}
		}
		out = append(out, rd)
	}
	if d, ok := strings.CutPrefix(m.InputsDigest, "sha256:"); ok && d != "" {
		out = append(out, &ita.ResourceDescriptor{Name: "inputs:" + m.Image, Digest: map[string]string{"sha256": d}})
	}
	if b := m.BaseImage; b != nil {
		rd := &ita.ResourceDescriptor{Name: "base:" + b.Image + "@" + b.Version, Digest: map[string]string{}}
		if b.SHA256 != "" {
			rd.Digest["sha256"] = b.SHA256
		}
		if len(rd.Digest) == 0 {
			// A resource descriptor needs a digest or a uri: name the
			// release's prefix in the bucket (docs/provenance.md).
			rd.Digest, rd.Uri = nil, "imagebot-release:"+b.Image+"/releases/"+b.Version+"/"
		}
		if d, ok := strings.CutPrefix(b.InputsDigest, "sha256:"); ok && d != "" {
			rd.Annotations, _ = structpb.NewStruct(map[string]any{"inputsDigest": b.InputsDigest, "buildId": b.BuildID})
		}
		out = append(out, rd)
	}
	return out
}

func toStruct(p *slsa.Provenance) (*structpb.Struct, error) {
	b, err := protojson.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("attest: encode provenance: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("attest: provenance as a struct: %w", err)
	}
	return s, nil
}
