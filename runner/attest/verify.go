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
)

// ErrInvalid is wrapped by every verification failure.
var ErrInvalid = errors.New("provenance does not verify")

// Expect is what a reader requires of a provenance.
type Expect struct {
	// Repository must equal the predicate's externalParameters.repository.
	Repository string
	// Digests are artifacts (hex sha256) that must each be a subject.
	Digests []string
	// Names, when set, maps a subject name to the hex sha256 it must have.
	Names map[string]string
}

// Verified is what a verified provenance says.
type Verified struct {
	KeyID      string
	Statement  *ita.Statement
	Provenance *slsa.Provenance
	Repository string
	Image      string
	Version    string
	Commit     string
}

// Verify checks an envelope (JSON; the first non-empty line of a .jsonl
// file) against keys: a signature by one of them, an in-toto v1 statement
// with a SLSA provenance v1 predicate, the expected repository, and every
// expected digest among the subjects. Errors wrap ErrInvalid and say which
// check failed.
func Verify(ctx context.Context, envelope []byte, keys []*PublicKey, want Expect) (*Verified, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no verification key configured", ErrInvalid)
	}
	if want.Repository == "" {
		return nil, fmt.Errorf("%w: no expected repository given", ErrInvalid)
	}
	var env dsse.Envelope
	if err := json.Unmarshal(firstLine(envelope), &env); err != nil {
		return nil, fmt.Errorf("%w: envelope is not DSSE JSON: %v", ErrInvalid, err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: payload type %q, want %q", ErrInvalid, env.PayloadType, PayloadType)
	}
	verifiers := make([]dsse.Verifier, len(keys))
	for i, k := range keys {
		verifiers[i] = k
	}
	ev, err := dsse.NewEnvelopeVerifier(verifiers...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	accepted, body, err := ev.VerifyAndDecode(ctx, &env)
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrInvalid, err)
	}
	var st ita.Statement
	if err := protojson.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("%w: statement: %v", ErrInvalid, err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: statement: %v", ErrInvalid, err)
	}
	if st.PredicateType != PredicateType {
		return nil, fmt.Errorf("%w: predicate type %q, want %q", ErrInvalid, st.PredicateType, PredicateType)
	}
	out, err := decodePredicate(&st)
	if err != nil {
		return nil, err
	}
	out.KeyID = accepted[0].KeyID
	if out.Repository != want.Repository {
		return nil, fmt.Errorf("%w: built from repository %q, want %q", ErrInvalid, out.Repository, want.Repository)
	}
	if err := checkSubjects(&st, want); err != nil {
		return nil, err
	}
	return out, nil
}

func decodePredicate(st *ita.Statement) (*Verified, error) {
	raw, err := protojson.Marshal(st.Predicate)
	if err != nil {
		return nil, fmt.Errorf("%w: predicate: %v", ErrInvalid, err)
	}
	var p slsa.Provenance
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: predicate: %v", ErrInvalid, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: predicate: %v", ErrInvalid, err)
	}
	ext := p.GetBuildDefinition().GetExternalParameters().GetFields()
	return &Verified{
		Statement: st, Provenance: &p,
		Repository: ext["repository"].GetStringValue(),
		Image:      ext["image"].GetStringValue(),
		Version:    ext["version"].GetStringValue(),
		Commit:     ext["commit"].GetStringValue(),
	}, nil
}

func checkSubjects(st *ita.Statement, want Expect) error {
	byDigest := map[string]bool{}
	byName := map[string]string{}
	for _, s := range st.Subject {
		d := strings.ToLower(s.Digest["sha256"])
		byDigest[d] = true
		byName[s.Name] = d
	}
	for _, d := range want.Digests {
		if !byDigest[strings.ToLower(d)] {
			return fmt.Errorf("%w: sha256 %s is not a subject of the provenance", ErrInvalid, d)
		}
	}
	for name, d := range want.Names {
		got, ok := byName[name]
		switch {
		case !ok:
			return fmt.Errorf("%w: %s is not a subject of the provenance", ErrInvalid, name)
		case got != strings.ToLower(d):
			return fmt.Errorf("%w: %s has sha256 %s, the provenance says %s", ErrInvalid, name, d, got)
		}
	}
	return nil
}

func firstLine(b []byte) []byte {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) != "" {
			return []byte(line)
		}
	}
	return b
}
