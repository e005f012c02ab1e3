package store

import (
	"strings"
	"testing"
)

func TestLayoutKeys(t *testing.T) {
	tests := []struct {
		ref    Ref
		file   string
		key    string
		String string
	}{
		{Release("rocky9", "1.2.0"), "rocky9-1.2.0.qcow2", "rocky9/releases/1.2.0/rocky9-1.2.0.qcow2", "rocky9@1.2.0"},
		{Release("rocky9", "1.2.0"), ManifestName, "rocky9/releases/1.2.0/manifest.json", "rocky9@1.2.0"},
		{Release("deb12-base", "0.1.0-rc.1+b7"), LogName, "deb12-base/releases/0.1.0-rc.1+b7/build.log", "deb12-base@0.1.0-rc.1+b7"},
		{MRBuild("rocky9", 42, "1A2B3C4D5E6F7a8b9c0d"), "rocky9-1.2.0.ova", "rocky9/mr/42/1a2b3c4d/rocky9-1.2.0.ova", "rocky9@mr42-1a2b3c4d"},
		{MRBuild("rocky9", 7, "abcdef1"), "rocky9-1.2.0.ova.sha256", "rocky9/mr/7/abcdef1/rocky9-1.2.0.ova.sha256", "rocky9@mr7-abcdef1"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if err := tc.ref.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := tc.ref.Key(tc.file); got != tc.key {
				t.Fatalf("Key = %q, want %q", got, tc.key)
			}
			if got := tc.ref.String(); got != tc.String {
				t.Fatalf("String = %q, want %q", got, tc.String)
			}
			ref, file, err := ParseKey(tc.key)
			if err != nil || ref != tc.ref || file != tc.file {
				t.Fatalf("ParseKey = %+v %q %v, want %+v %q", ref, file, err, tc.ref, tc.file)
			}
			ref, file, err = ParseKey(tc.ref.Prefix())
			if err != nil || ref != tc.ref || file != "" {
				t.Fatalf("ParseKey(prefix) = %+v %q %v", ref, file, err)
			}
		})
	}
}

func TestParseKeyRejects(t *testing.T) {
	tests := []struct{ key, why string }{
		{"", "want <image>"},
		{"rocky9", "want <image>"},
		{"rocky9/builds/1.0.0/x", `second segment "builds"`},
		{"Rocky9/releases/1.0.0/x", `image "Rocky9"`},
		{"rocky9/releases/../x", `version ".."`},
		{"rocky9/mr/abc/1234567/x", `merge request "abc" is not a number`},
		{"rocky9/mr/0/1234567/x", "positive iid"},
		{"rocky9/mr/3/xyz/x", `commit "xyz"`},
		{"rocky9/mr/3", "lacks the commit"},
		{"rocky9/releases/1.0.0/a/b", `file "a/b"`},
		{"rocky9/releases/1.0.0/.hidden", `file ".hidden"`},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			_, _, err := ParseKey(tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("ParseKey(%q) error %v, want it to mention %q", tc.key, err, tc.why)
			}
		})
	}
}

func TestArtifactName(t *testing.T) {
	if got := ArtifactName("rocky9", "1.2.0", ".ova"); got != "rocky9-1.2.0.ova" {
		t.Fatal(got)
	}
	if got := ArtifactName("rocky9", "1.2.0", "qcow2"); got != "rocky9-1.2.0.qcow2" {
		t.Fatal(got)
	}
}

func TestVersionOrder(t *testing.T) {
	tests := []struct {
		a, b string
		less bool
	}{
		{"1.2.0", "1.10.0", true},
		{"1.10.0", "1.2.0", false},
		{"2.0.0-rc.1", "2.0.0", true},
		{"not-semver", "0.0.1", true},
		{"0.0.1", "not-semver", false},
	}
	for _, tc := range tests {
		if got := versionLess(tc.a, tc.b); got != tc.less {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.less)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "set local or s3"},
		{Config{Local: &LocalConfig{}, S3: &S3Config{}}, "not both"},
		{Config{Local: &LocalConfig{}}, "storage.local.dir"},
		{Config{S3: &S3Config{Endpoint: "http://minio:9000", Bucket: "b"}}, "storage.s3.endpoint"},
		{Config{S3: &S3Config{Endpoint: "minio:9000"}}, "storage.s3.bucket"},
		{Config{Local: &LocalConfig{Dir: "/var/lib/imagebot/artifacts"}}, ""},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestCredentialsComeFromEnvOrFileAndErrorsNameNoValue(t *testing.T) {
	t.Setenv("MY_AK", "AKIAEXAMPLE")
	t.Setenv(DefaultSecretKeyEnv, "")
	_, _, err := S3Config{AccessKeyEnv: "MY_AK"}.Credentials()
	if err == nil || !strings.Contains(err.Error(), DefaultSecretKeyEnv) || strings.Contains(err.Error(), "AKIAEXAMPLE") {
		t.Fatalf("missing secret: %v", err)
	}
	t.Setenv(DefaultSecretKeyEnv, "s3cr3t")
	ak, sk, err := S3Config{AccessKeyEnv: "MY_AK"}.Credentials()
	if err != nil || ak != "AKIAEXAMPLE" || sk != "s3cr3t" {
		t.Fatalf("credentials %q %q %v", ak, sk, err)
	}
}
