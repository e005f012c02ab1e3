package packer

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"a%!(PACKER_COMMA) b": "a, b",
		`\n==> Wait`:          "\n==> Wait",
		"plain":               "plain",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseLineRejectsNoise(t *testing.T) {
	for _, s := range []string{"", "hello", "abc,,ui,say,x", "123"} {
		if _, ok := ParseLine(s); ok {
			t.Errorf("ParseLine(%q) ok, want not machine-readable", s)
		}
	}
}

func parseFile(t *testing.T, name string) []Event {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := NewParser()
	var evs []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l, ok := ParseLine(sc.Text()); ok {
			evs = append(evs, p.Events(l)...)
		}
	}
	return evs
}

func kinds(evs []Event, k EventKind) []Event {
	var out []Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func TestParseRecordedSuccessWithArtifacts(t *testing.T) {
	evs := parseFile(t, "null-artifice.txt")
	steps := kinds(evs, EventStep)
	if len(steps) != 3 || steps[2].Text != "Using these artifact files: out/a.qcow2, out/vmlinuz" || steps[0].Source != "null.one" || !strings.HasPrefix(steps[0].Text, "Running local shell script") {
		t.Fatalf("steps = %+v", steps)
	}
	fin := kinds(evs, EventFinished)
	if len(fin) != 1 || fin[0].Source != "null.one" {
		t.Fatalf("finished = %+v", fin)
	}
	if e := kinds(evs, EventErrored); len(e) != 0 {
		t.Fatalf("errored on success: %+v", e)
	}
	arts := kinds(evs, EventArtifact)
	if len(arts) != 2 {
		t.Fatalf("artifacts = %+v", arts)
	}
	want := &Artifact{Source: "null.one", BuilderID: "packer.post-processor.artifice", Files: []string{"out/a.qcow2", "out/vmlinuz"}}
	if !reflect.DeepEqual(arts[1].Artifact, want) || arts[1].Source != "null.one" {
		t.Fatalf("artifact = %+v, want %+v", arts[1].Artifact, want)
	}
	if arts[0].Artifact.BuilderID != "fnoeding.null" || arts[0].Artifact.ID != "Null" || len(arts[0].Artifact.Files) != 0 {
		t.Fatalf("null artifact = %+v", arts[0].Artifact)
	}
	for _, e := range evs {
		if strings.Contains(e.Text, "PACKER_COMMA") {
			t.Fatalf("escaped text left in %+v", e)
		}
	}
}

func TestParseRecordedFailure(t *testing.T) {
	evs := parseFile(t, "null-failed.txt")
	errored := kinds(evs, EventErrored)
	if len(errored) != 2 || errored[0].Source != "null.one" || !strings.Contains(errored[0].Text, "non-zero exit status: 3") {
		t.Fatalf("errored = %+v", errored)
	}
	var sawMsg, sawErr bool
	for _, e := range evs {
		sawMsg = sawMsg || (e.Kind == EventMessage && e.Text == "hello, world" && e.Source == "null.one")
		sawErr = sawErr || (e.Kind == EventError && e.Source == "null.one" && strings.HasPrefix(e.Text, "Script exited"))
	}
	if !sawMsg || !sawErr {
		t.Fatalf("message seen %v, error seen %v in %+v", sawMsg, sawErr, evs)
	}
	if f := kinds(evs, EventFinished); len(f) != 0 {
		t.Fatalf("finished on failure: %+v", f)
	}
}

func TestArgsNeverAsk(t *testing.T) {
	o := BuildOptions{Template: ".", Vars: map[string]string{"b": "2", "a": "x,y"}, Only: []string{"qemu.base"}}
	got := strings.Join(o.Args(), " ")
	want := "build -machine-readable -color=false -on-error=cleanup -only=qemu.base -var a=x,y -var b=2 ."
	if got != want {
		t.Fatalf("args = %q, want %q", got, want)
	}
}

// A real amazon-ebs build's machine-readable output (as Packer's docs
// record it), replayed: one artifact with its AMI id per region; the empty
// second artifact Packer reports is not an artifact.
func TestParseReplayedAmazonBuild(t *testing.T) {
	data, err := os.ReadFile("testdata/amazon-ebs-documented.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := NewParser()
	var arts []*Artifact
	var sources []string
	for _, raw := range strings.Split(string(data), "\n") {
		l, ok := ParseLine(raw)
		if !ok {
			continue
		}
		for _, ev := range p.Events(l) {
			if ev.Kind == EventArtifact {
				arts = append(arts, ev.Artifact)
				sources = append(sources, ev.Source)
			}
		}
	}
	if len(arts) != 1 || sources[0] != "amazon-ebs" {
		t.Fatalf("artifacts %+v from %v, want one from amazon-ebs", arts, sources)
	}
	a := arts[0]
	if a.BuilderID != "mitchellh.amazonebs" || a.ID != "eu-west-1:ami-04d23aca8bdd36e30" || a.IDs["eu-west-1"] != "ami-04d23aca8bdd36e30" || len(a.IDs) != 1 {
		t.Errorf("artifact %+v", a)
	}
}

func TestCloudIDs(t *testing.T) {
	tests := []struct {
		id   string
		want map[string]string
	}{
		// amazon's Artifact.Id(): region:ami pairs joined by commas, escaped as %!(PACKER_COMMA) on the wire
		{"us-east-1:ami-0a1b2c3d,eu-west-1:ami-0e4f5a6b", map[string]string{"us-east-1": "ami-0a1b2c3d", "eu-west-1": "ami-0e4f5a6b"}},
		{"us-gov-west-1:ami-1", map[string]string{"us-gov-west-1": "ami-1"}},
		{"sha256:4f2a", nil},                // a docker image id
		{"output/debian12-base.qcow2", nil}, // a file
		{"imagebot-b1-web", nil},            // a vSphere VM
		{"C:\\images\\x.vhdx", nil},         // a path with a drive
		{"", nil},
	}
	for _, tt := range tests {
		if got := CloudIDs(tt.id); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CloudIDs(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
	l, ok := ParseLine("1700000000,amazon-ebs.web,artifact,0,id,us-east-1:ami-0a1b2c3d%!(PACKER_COMMA)eu-west-1:ami-0e4f5a6b")
	if !ok {
		t.Fatal("line not parsed")
	}
	p := NewParser()
	p.Events(l)
	if a := p.pending["amazon-ebs.web#0"]; a == nil || len(a.IDs) != 2 {
		t.Errorf("escaped multi-region id not read: %+v", a)
	}
}
