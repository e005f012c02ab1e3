package inventory

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knqyf263/go-rpmdb/pkg/bdb"
)

// testdata/rpmdb.sqlite.gz is a real rpm SQLite database made by rpm 4.18
// (the format of RHEL 9's rpm 4.16): `rpm --define '_db_backend sqlite'
// --initdb`, then `rpm -i --justdb` of two packages built with rpmbuild:
// imagebot-hello 2:1.2.3-4.el9 x86_64 and imagebot-data 0.9-1.el9 noarch.
func TestParseRPMSQLite(t *testing.T) {
	f, err := os.Open("testdata/rpmdb.sqlite.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	db, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ParseRPMSQLite(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{
		{Name: "imagebot-hello", Version: "2:1.2.3-4.el9", Arch: "x86_64", Source: "imagebot-hello-1.2.3-4.el9.src.rpm"},
		{Name: "imagebot-data", Version: "0.9-1.el9", Arch: "noarch", Source: "imagebot-data-0.9-1.el9.src.rpm"},
	}
	if len(pkgs) != len(want) {
		t.Fatalf("got %+v, want %+v", pkgs, want)
	}
	for i := range want {
		if pkgs[i] != want[i] {
			t.Errorf("package %d = %+v, want %+v", i, pkgs[i], want[i])
		}
	}
	if _, err := ParseRPMSQLite(context.Background(), []byte("not a database"), nil); err == nil || !strings.Contains(err.Error(), "rpmdb.sqlite") {
		t.Errorf("garbage database: %v", err)
	}
}

// The header parser must read every real header of go-rpmdb's CentOS 7
// database exactly as go-rpmdb's own parser does (the blobs are the same in
// Berkeley DB and SQLite databases).
func TestParseRPMHeaderMatchesGoRPMDB(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/knqyf263/go-rpmdb").Output()
	if err != nil {
		t.Fatalf("locate go-rpmdb module: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "pkg", "testdata", "centos7-plain", "Packages")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ParseRPMDB(data)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []Package
	for e := range db.Read() {
		if e.Err != nil {
			t.Fatal(e.Err)
		}
		p, err := parseRPMHeader(e.Value)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if len(got) != len(ref) || len(got) < 100 {
		t.Fatalf("%d headers, go-rpmdb %d", len(got), len(ref))
	}
	for i := range ref {
		if got[i] != ref[i] {
			t.Errorf("header %d: %+v, go-rpmdb %+v", i, got[i], ref[i])
		}
	}
}

// Hostile or damaged header blobs are errors, never panics.
func TestParseRPMHeaderRejectsBadBlobs(t *testing.T) {
	entry := func(tag, typ, off, count uint32) []byte {
		b := make([]byte, 16)
		binary.BigEndian.PutUint32(b[0:], tag)
		binary.BigEndian.PutUint32(b[4:], typ)
		binary.BigEndian.PutUint32(b[8:], off)
		binary.BigEndian.PutUint32(b[12:], count)
		return b
	}
	blob := func(data []byte, entries ...[]byte) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.BigEndian, uint32(len(entries)))
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		for _, e := range entries {
			b.Write(e)
		}
		b.Write(data)
		return b.Bytes()
	}
	good := blob([]byte("a\x001\x00"), entry(tagName, typeString, 0, 1), entry(tagVersion, typeString, 2, 1))
	if p, err := parseRPMHeader(good); err != nil || p.Name != "a" || p.Version != "1" {
		t.Fatalf("good blob: %+v, %v", p, err)
	}
	for name, b := range map[string][]byte{
		"empty":              nil,
		"no entries":         blob(nil),
		"truncated":          good[:len(good)-1],
		"offset beyond data": blob([]byte("a\x00"), entry(tagName, typeString, 9, 1)),
		"unterminated":       blob([]byte("abc"), entry(tagName, typeString, 0, 1)),
		"epoch beyond data":  blob([]byte("a\x001\x00"), entry(tagName, typeString, 0, 1), entry(tagVersion, typeString, 2, 1), entry(tagEpoch, typeInt32, 2, 1)),
		"name not a string":  blob([]byte("abcd"), entry(tagName, typeInt32, 0, 1)),
		"no name":            blob([]byte("1\x00"), entry(tagVersion, typeString, 0, 1)),
		"huge count":         {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
	} {
		if p, err := parseRPMHeader(b); err == nil {
			t.Errorf("%s: parsed as %+v", name, p)
		}
	}
}
