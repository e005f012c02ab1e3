package attest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/attest/attesttest"
	"github.com/imagebot/imagebot/runner/manifest"
)

const (
	testRepo  = "https://git.example.test/infra/images"
	qcowSHA   = "1111111111111111111111111111111111111111111111111111111111111111"
	ovaSHA    = "2222222222222222222222222222222222222222222222222222222222222222"
	logSHA    = "3333333333333333333333333333333333333333333333333333333333333333"
	baseSHA   = "4444444444444444444444444444444444444444444444444444444444444444"
	otherSHA  = "5555555555555555555555555555555555555555555555555555555555555555"
	inputsDig = "sha256:6666666666666666666666666666666666666666666666666666666666666666"
)

func writeTestKey(t *testing.T, dir, kind string) string {
	priv, _ := attesttest.WriteKey(t, dir, kind)
	return priv
}

func testManifest() []byte {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	m := &manifest.Manifest{
		Image: "rocky9", Version: "1.2.0", BuildID: "b-42", GitSHA: "0123456789abcdef0123456789abcdef01234567",
		MR: 12, Release: true, InputsDigest: inputsDig, PackerVersion: "1.9.4", Builder: "qemu",
		Started: start, Finished: start.Add(41 * time.Second), Repository: testRepo,
		Files: []manifest.File{
			{Name: "rocky9-1.2.0.qcow2", Format: "qcow2", Size: 10, SHA256: qcowSHA},
			{Name: "rocky9-1.2.0.ova", Format: "ova", Size: 11, SHA256: ovaSHA},
			{Name: "build.log", Format: "log", Size: 12, SHA256: logSHA},
		},
		BaseImage: &manifest.BaseImage{Image: "base9", Version: "1.0.0", InputsDigest: inputsDig, SHA256: baseSHA},
	}
	b, err := manifest.Marshal(m, nil)
	if err != nil {
		panic(err)
	}
	return b
}

func TestAttestThenVerify(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"ed25519", "p256"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			s, err := NewSigner(Config{KeyFile: writeTestKey(t, dir, kind), BuilderID: "https://imagebot.test/runner"})
			if err != nil {
				t.Fatal(err)
			}
			env, err := s.Attest(ctx, testManifest())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(string(env), "\n") != 1 {
				t.Fatalf("envelope is not one JSON line: %q", env)
			}
			pub := s.Key.Public()
			other, err := ParseKey(mustRead(t, writeTestKey(t, t.TempDir(), kind)))
			if err != nil {
				t.Fatal(err)
			}
			good := Expect{Repository: testRepo, Digests: []string{qcowSHA}, Names: map[string]string{"rocky9-1.2.0.ova": ovaSHA}}
			tests := []struct {
				name    string
				env     []byte
				keys    []*PublicKey
				want    Expect
				wantErr string
			}{
				{"verifies", env, []*PublicKey{pub}, good, ""},
				{"any of several keys", env, []*PublicKey{other.Public(), pub}, good, ""},
				{"wrong key", env, []*PublicKey{other.Public()}, good, "signature"},
				{"no key", env, nil, good, "no verification key"},
				{"other repository", env, []*PublicKey{pub}, Expect{Repository: "https://evil.test/x"}, "built from repository"},
				{"tampered artifact", env, []*PublicKey{pub}, Expect{Repository: testRepo, Digests: []string{otherSHA}}, "not a subject"},
				{"renamed artifact", env, []*PublicKey{pub}, Expect{Repository: testRepo, Names: map[string]string{"rocky9-1.2.0.ova": qcowSHA}}, "the provenance says"},
				{"log is no subject", env, []*PublicKey{pub}, Expect{Repository: testRepo, Digests: []string{logSHA}}, "not a subject"},
				{"tampered payload", tamper(t, env), []*PublicKey{pub}, good, "signature"},
				{"not json", []byte("hello"), []*PublicKey{pub}, good, "not DSSE JSON"},
			}
			for _, tc := range tests {
				v, err := Verify(ctx, tc.env, tc.keys, tc.want)
				if tc.wantErr == "" {
					if err != nil {
						t.Errorf("%s: %v", tc.name, err)
						continue
					}
					if v.Image != "rocky9" || v.Version != "1.2.0" || v.Repository != testRepo {
						t.Errorf("%s: verified %+v", tc.name, v)
					}
					continue
				}
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.wantErr)
				}
			}
		})
	}
}

func TestStatementCarriesTheBuild(t *testing.T) {
	m, err := manifest.Parse(testManifest())
	if err != nil {
		t.Fatal(err)
	}
	st, err := Statement(m, "https://imagebot.test/runner", "")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(st.Predicate.AsMap())
	for _, want := range []string{
		`"buildType":"` + BuildType, `"repository":"` + testRepo, `"mergeRequest":12`, `"packer":"1.9.4"`,
		`"name":"base:base9@1.0.0"`, baseSHA, `"invocationId":"b-42"`, `"startedOn":"2026-12-03T10:00:00Z"`,
		`"finishedOn":"2026-12-03T10:00:41Z"`, `"gitCommit":"0123456789abcdef`, `"name":"build.log"`,
	} {
		if !strings.Contains(string(js), want) {
			t.Errorf("predicate lacks %s:\n%s", want, js)
		}
	}
	if len(st.Subject) != 2 {
		t.Errorf("subjects %v, want the qcow2 and the ova", st.Subject)
	}
	m.Repository = ""
	if _, err := Statement(m, "x", ""); err == nil || !strings.Contains(err.Error(), "no repository") {
		t.Errorf("no repository: %v", err)
	}
}

func TestLoadKeyRefusesOtherKeys(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	tests := []struct{ name, pem, want string }{
		{"p384", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "want P-256"},
		{"not pem", "hello", "no PEM block"},
		{"rsa header", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "want PRIVATE KEY"},
	}
	for _, tc := range tests {
		path := filepath.Join(t.TempDir(), "k.pem")
		os.WriteFile(path, []byte(tc.pem), 0o600)
		_, err := LoadKey(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming %s and saying %q", tc.name, err, path, tc.want)
		}
	}
}

// tamper changes the signed payload (the subjects' first digest) and
// keeps the signature.
func tamper(t *testing.T, env []byte) []byte {
	var e map[string]any
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	body, _ := base64.StdEncoding.DecodeString(e["payload"].(string))
	body = []byte(strings.Replace(string(body), qcowSHA, otherSHA, 1))
	e["payload"] = base64.StdEncoding.EncodeToString(body)
	out, _ := json.Marshal(e)
	return out
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
