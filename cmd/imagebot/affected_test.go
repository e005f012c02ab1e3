package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

func TestAffectedCommand(t *testing.T) {
	repo := filepath.Join(testenv.RepoRoot(t), "runner/catalog/testdata/good")
	tests := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"--paths", "kickstart/base/ks.cfg"}, "", "base\nchild\ngrandchild\n"},
		{[]string{"--paths", "resources/motd.sh,images/child/env.yaml"}, "", "web\nchild\ngrandchild\n"},
		{nil, "README.md\nresources/motd.sh\n", "web\n"},
		{[]string{"--paths", "-"}, "images/plain/env.yaml\n", "plain\n"},
		{[]string{"--paths", "docs/x.md"}, "", ""},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		args := append([]string{"--repo", repo}, tt.args...)
		if err := affectedTo(context.Background(), args, strings.NewReader(tt.stdin), &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, stderr.String())
		}
		if stdout.String() != tt.want {
			t.Errorf("%v (stdin %q): got %q, want %q", tt.args, tt.stdin, stdout.String(), tt.want)
		}
	}
}

func TestAffectedCommandJSON(t *testing.T) {
	repo := filepath.Join(testenv.RepoRoot(t), "runner/catalog/testdata/good")
	var stdout, stderr bytes.Buffer
	if err := affectedTo(context.Background(), []string{"--repo", repo, "--json", "--paths", "kickstart/declared/ks.cfg"}, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var got map[string][]string
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"images": {"declared"}, "changed": {"kickstart/declared/ks.cfg"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestAffectedCommandNeedsBothRevisions(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := affectedTo(context.Background(), []string{"--from", "HEAD~1"}, nil, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "give both --from and --to") {
		t.Errorf("got %v", err)
	}
}
