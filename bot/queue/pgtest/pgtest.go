// Package pgtest starts a throw-away PostgreSQL server for tests (the
// Debian postgresql package's binaries, found through pg_ctl on PATH), run
// as the postgres user when the tests run as root.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

// Start starts a server on a free loopback port and returns its URL; the
// server and its files are removed when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	pgCtl := pgCtlPath(t)
	if real, err := filepath.EvalSymlinks(pgCtl); err == nil {
		pgCtl = real
	}
	dir, err := os.MkdirTemp("", "pgtest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var wrap []string
	if os.Geteuid() == 0 { // initdb refuses root
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Missing(t, "running as root and no postgres user to run PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		wrap = []string{"runuser", "-u", "postgres", "--"}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	data := filepath.Join(dir, "data")
	run := func(args ...string) {
		t.Helper()
		all := append(append([]string{}, wrap...), append([]string{pgCtl}, args...)...)
		c := exec.Command(all[0], all[1:]...)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("pg_ctl %v: %v: %s", args, err, out)
		}
	}
	run("initdb", "-s", "-D", data, "-o", "-A trust -U postgres --no-sync")
	run("start", "-s", "-w", "-D", data, "-l", filepath.Join(dir, "log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir))
	t.Cleanup(func() {
		all := append(append([]string{}, wrap...), pgCtl, "stop", "-s", "-m", "immediate", "-D", data)
		_ = exec.Command(all[0], all[1:]...).Run()
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// pgCtlPath finds pg_ctl on PATH or where Debian's postgresql package puts
// it (/usr/lib/postgresql/<version>/bin, not on PATH).
func pgCtlPath(t testing.TB) string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return p
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl"); len(m) > 0 {
		return m[len(m)-1]
	}
	return testenv.Tool(t, "pg_ctl")
}
