package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

func runValidateCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append(args, "--packer", testenv.Tool(t, "packer"), "--cache", t.TempDir())
	err := validateTo(context.Background(), args, &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

func TestValidateCommandPassesOnRepositoryImages(t *testing.T) {
	out, err := runValidateCmd(t, "--repo", testenv.RepoRoot(t))
	if err != nil {
		t.Fatalf("imagebot validate: %v\n%s", err, out)
	}
	if !strings.Contains(out, " 0 error(s)") {
		t.Errorf("no summary line in:\n%s", out)
	}
}

func TestValidateCommandFailsOnBrokenFixtureWithLocatedError(t *testing.T) {
	fixture := filepath.Join(testenv.RepoRoot(t), "runner/catalog/testdata/not-semver")
	out, err := runValidateCmd(t, "--repo", fixture)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("want exit status 1, got %v\n%s", err, out)
	}
	want := `images/web/env.yaml:2:10: error: version "1.2" is not a semantic version`
	if !strings.Contains(out, want) || !strings.Contains(out, "1 image(s) checked") || !strings.Contains(out, "1 error(s)") {
		t.Errorf("output lacks %q and the summary:\n%s", want, out)
	}
}

func TestValidateCommandJSON(t *testing.T) {
	fixture := filepath.Join(testenv.RepoRoot(t), "runner/catalog/testdata/bash-syntax")
	out, err := runValidateCmd(t, "web", "--json", "--repo", fixture, "--jobs", "1")
	if err == nil {
		t.Fatal("broken fixture validated")
	}
	var rep struct {
		Images      []string
		Errors      int
		Diagnostics []struct {
			File            string
			Line, Column    int
			Severity, Image string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Errors != 1 || len(rep.Diagnostics) != 1 || rep.Diagnostics[0].File != "images/web/provisioner.sh" || rep.Diagnostics[0].Line != 5 || rep.Diagnostics[0].Image != "web" {
		t.Errorf("report %+v", rep)
	}
}

func TestValidateCommandUsageError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := validateTo(context.Background(), []string{"--jobs", "many"}, &stdout, &stderr)
	if !errors.Is(err, errUsage) {
		t.Errorf("got %v, want a usage error", err)
	}
}
