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
	want := &Artifact{BuilderID: "packer.post-processor.artifice", Files: []string{"out/a.qcow2", "out/vmlinuz"}}
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
