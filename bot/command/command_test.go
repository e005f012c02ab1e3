package command

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Command
		bad  []int // lines with a SyntaxError
	}{
		{"plain build", "/build rocky9", []Command{{Kind: Build, Images: []string{"rocky9"}, Line: 1}}, nil},
		{"build several with flags", "/build rocky9 debian12 --force --only qemu.main",
			[]Command{{Kind: Build, Images: []string{"rocky9", "debian12"}, Force: true, Only: "qemu.main", Line: 1}}, nil},
		{"only with equals", "/build rocky9 --only=vsphere-iso.base",
			[]Command{{Kind: Build, Images: []string{"rocky9"}, Only: "vsphere-iso.base", Line: 1}}, nil},
		{"build with no name", "/build", []Command{{Kind: Build, Line: 1}}, nil},
		{"commas separate too", "/build rocky9, debian12,photon5",
			[]Command{{Kind: Build, Images: []string{"rocky9", "debian12", "photon5"}, Line: 1}}, nil},
		{"duplicate images collapse", "/build a b a", []Command{{Kind: Build, Images: []string{"a", "b"}, Line: 1}}, nil},
		{"anywhere in a comment", "Looks good.\n\n/build rocky9\nthanks!\n/cancel debian12\n",
			[]Command{{Kind: Build, Images: []string{"rocky9"}, Line: 3}, {Kind: Cancel, Images: []string{"debian12"}, Line: 5}}, nil},
		{"crlf and leading spaces", "hi\r\n  /retry\r\n", []Command{{Kind: Retry, Line: 2}}, nil},
		{"cancel all", "/cancel", []Command{{Kind: Cancel, Line: 1}}, nil},
		{"ok-to-build and help", "/ok-to-build\n/help", []Command{{Kind: OkToBuild, Line: 1}, {Kind: Help, Line: 2}}, nil},
		{"quoted line ignored", "> /build rocky9\nI disagree", nil, nil},
		{"fenced code ignored", "```\n/build rocky9\n```\n/build debian12",
			[]Command{{Kind: Build, Images: []string{"debian12"}, Line: 4}}, nil},
		{"tilde fence with info string", "~~~sh\n/cancel\n~~~\n", nil, nil},
		{"unclosed fence swallows the rest", "```\n/build x\n", nil, nil},
		{"longer fence needs longer close", "````\n```\n/build x\n````\n/help",
			[]Command{{Kind: Help, Line: 5}}, nil},
		{"indented code ignored", "    /build rocky9\n\t/retry", nil, nil},
		{"inline code is prose", "run `/build rocky9` to build", nil, nil},
		{"other slash words ignored", "/builds rocky9\n/lgtm\n/ build", nil, nil},
		{"only missing value", "/build rocky9 --only", nil, []int{1}},
		{"only twice", "/build --only a --only b", nil, []int{1}},
		{"unknown flag", "/build rocky9 --fast", nil, []int{1}},
		{"cancel takes no flags", "/cancel --force", nil, []int{1}},
		{"retry takes no arguments", "/retry rocky9", nil, []int{1}},
		{"bad image name", "/build rocky9!", nil, []int{1}},
		{"image name cannot start with a dot", "/build ../etc", nil, []int{1}},
		{"good and bad lines", "/build ok\n/build --nope\n/help",
			[]Command{{Kind: Build, Images: []string{"ok"}, Line: 1}, {Kind: Help, Line: 3}}, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.body)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.body, got, tt.want)
			}
			var lines []int
			for _, se := range SyntaxErrors(err) {
				lines = append(lines, se.Line)
				if !strings.Contains(se.Reply(), se.Usage()) || se.Usage() == "" {
					t.Errorf("reply %q does not carry the usage", se.Reply())
				}
			}
			if !reflect.DeepEqual(lines, tt.bad) {
				t.Errorf("syntax errors on lines %v, want %v (err %v)", lines, tt.bad, err)
			}
		})
	}
}

func TestSyntaxErrorCarriesUsage(t *testing.T) {
	_, err := Parse("/build rocky9 --only")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *SyntaxError", err)
	}
	if se.Kind != Build || !strings.Contains(se.Usage(), "[--only <packer-source>]") {
		t.Errorf("usage %q is not /build's", se.Usage())
	}
	if !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "--only needs a packer source name") {
		t.Errorf("error %q does not say where and what", err)
	}
}

func TestClosest(t *testing.T) {
	known := []string{"rocky9", "debian12", "debian12-docker", "photon5", "ubuntu2404"}
	tests := []struct{ name, want string }{
		{"rocky", "rocky9"},
		{"rockey9", "rocky9"},
		{"Rocky9", "rocky9"},
		{"debian-12", "debian12"},
		{"debain12", "debian12"},
		{"debian12-dockr", "debian12-docker"},
		{"windows", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := Closest(tt.name, known); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestUnknownImageMessage(t *testing.T) {
	got := UnknownImage("rockey9", []string{"rocky9", "debian12"}).Error()
	want := "unknown image rockey9; did you mean rocky9? known images: debian12, rocky9"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = UnknownImage("windows", []string{"rocky9"}).Error()
	if want := "unknown image windows; known images: rocky9"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestStringRoundTrips(t *testing.T) {
	for _, c := range []Command{
		{Kind: Build, Images: []string{"a", "b"}, Force: true, Only: "qemu.x"},
		{Kind: Build},
		{Kind: Cancel, Images: []string{"rocky9"}},
		{Kind: Retry}, {Kind: OkToBuild}, {Kind: Help},
	} {
		c.Line = 1
		got, err := Parse(c.String())
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], c) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.String(), got, err, c)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/build rocky9", "/build a b --force --only qemu.x\n/cancel", "```\n/build x\n```\n/retry",
		"> /build x", "/build --only", "/ok-to-build\r\n/help", "    /build x", "/build --only=a.b c",
		"~~~\n/cancel\n~~~~\n/build é", "\x00/build\t\tx",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, err := Parse(body)
		for _, se := range SyntaxErrors(err) {
			if se.Line < 1 || se.Usage() == "" {
				t.Fatalf("bad syntax error %+v", se)
			}
		}
		for _, c := range cmds {
			again, err := Parse(c.String())
			c.Line = 1
			if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], c) {
				t.Fatalf("%q: command %+v renders as %q which parses as %+v, %v", body, c, c.String(), again, err)
			}
		}
	})
}
