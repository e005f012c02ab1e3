package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() *Manifest {
	start := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	return &Manifest{
		Image: "rocky9", Version: "1.2.0", BuildID: "b-42", Status: "succeeded",
		GitSHA: "0123456789abcdef0123456789abcdef01234567", MR: 17,
		InputsDigest: "sha256:" + strings.Repeat("ab", 32), PackerVersion: "1.9.4", Builder: "qemu",
		Files:   []File{{Name: "rocky9-1.2.0.qcow2", Format: "qcow2", Size: 123, SHA256: strings.Repeat("0f", 32)}},
		Started: start, Finished: start.Add(90*time.Second + 250*time.Millisecond),
		TriggeredBy: "alice",
		SourceBuild: &SourceBuild{BuildID: "b-41", MR: 17},
		BaseImage:   &BaseImage{Image: "rocky9-base", Version: "1.0.0"},
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	m := sample()
	if err := Write(p, m, []string{"s3cr3t-token"}); err != nil {
		t.Fatal(err)
	}
	got, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != SchemaVersion || got.DurationSeconds != 90.25 {
		t.Errorf("schema %d, duration %v", got.Schema, got.DurationSeconds)
	}
	got.Schema, got.DurationSeconds = 0, 0
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip changed the manifest:\n got %+v\nwant %+v", got, m)
	}
	data, _ := os.ReadFile(p)
	for _, key := range []string{`"image"`, `"build_id"`, `"git_sha"`, `"mr": 17`, `"inputs_digest"`, `"packer_version"`, `"builder"`, `"files"`, `"sha256"`, `"started"`, `"finished"`, `"triggered_by"`, `"source_build"`, `"base_image"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("manifest lacks %s:\n%s", key, data)
		}
	}
}

// TestWriteRefusesSecrets: a secret anywhere (raw, or as JSON escapes it)
// refuses the manifest; the error names the field, never the secret, and no
// file is written.
func TestWriteRefusesSecrets(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		mod    func(m *Manifest)
		field  string
	}{
		{"in triggered_by", "hunter22", func(m *Manifest) { m.TriggeredBy = "x hunter22 y" }, "triggered_by"},
		{"in a file name", "tok-ABCD", func(m *Manifest) { m.Files[0].Name = "tok-ABCD.qcow2" }, "files[0].name"},
		{"in a label", "pa\"ss\\word", func(m *Manifest) { m.Labels = map[string]string{"k": "pa\"ss\\word"} }, "labels.k"},
		{"in a label key", "very-secret", func(m *Manifest) { m.Labels = map[string]string{"very-secret": "v"} }, "labels.<key>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), FileName)
			m := sample()
			tc.mod(m)
			err := Write(p, m, []string{"", "ab", tc.secret})
			var se *SecretError
			if !errors.As(err, &se) {
				t.Fatalf("want a SecretError, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.field) || strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q should name %s and not contain the secret", err, tc.field)
			}
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Error("a refused manifest was written")
			}
		})
	}
}

func TestShortSecretsDoNotRefuseEverything(t *testing.T) {
	if _, err := Marshal(sample(), []string{"1", "ab", "abc"}); err != nil {
		t.Fatal(err)
	}
}

func TestIncompleteManifestsAreRefused(t *testing.T) {
	m := sample()
	m.BuildID = ""
	m.Files[0].SHA256 = "abc"
	_, err := Marshal(m, nil)
	if err == nil || !strings.Contains(err.Error(), "build_id") || !strings.Contains(err.Error(), "files[0]") {
		t.Fatalf("error %v should name build_id and files[0]", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{`{"image": "x",`, "invalid JSON"},
		{`{"schema": 99, "image":"a","version":"1","build_id":"b"}`, "schema 99"},
		{`{"schema": 1, "image":"a","version":"1"}`, "build_id"},
	} {
		if _, err := Parse([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", tc.data, err, tc.want)
		}
	}
}
