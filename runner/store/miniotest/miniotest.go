// Package miniotest runs a real MinIO server for tests: the pinned binary
// from .tools/bin (testenv.Tool), on 127.0.0.1 at a free port, with its data
// in a temporary directory and one bucket made. Stop and Start take it down
// and bring it back on the same port and data, for outage tests; the test's
// cleanup stops it for good.
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/imagebot/imagebot/runner/testenv"
)

// Server is one MinIO process.
type Server struct {
	Endpoint  string // 127.0.0.1:port
	AccessKey string
	SecretKey string
	Bucket    string
	Dir       string

	t      testing.TB
	bin    string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *logBuf
}

// Start runs MinIO and makes a bucket; it is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		bin:       testenv.Tool(t, "minio"),
		Dir:       t.TempDir(),
		AccessKey: "imagebot-" + randHex(4),
		SecretKey: randHex(16),
		Bucket:    "artifacts",
	}
	s.Endpoint = "127.0.0.1:" + strconv.Itoa(freePort(t))
	t.Cleanup(func() { s.kill() })
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("miniotest: make bucket: %v", err)
	}
	return s
}

// Client returns a minio-go client with the server's root credentials.
func (s *Server) Client(t testing.TB) *minio.Client {
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		t.Fatalf("miniotest: client: %v", err)
	}
	return c
}

// Env returns the environment a store config would read the keys from.
func (s *Server) Env(accessVar, secretVar string) map[string]string {
	return map[string]string{accessVar: s.AccessKey, secretVar: s.SecretKey}
}

// Stop kills the server abruptly (SIGKILL), as a crash or outage would.
func (s *Server) Stop() {
	s.t.Helper()
	s.kill()
}

// Restart starts a stopped server again on the same port and data.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// Log returns what the server printed since it last started.
func (s *Server) Log() string {
	s.mu.Lock()
	l := s.log
	s.mu.Unlock()
	if l == nil {
		return ""
	}
	return l.String()
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("miniotest: already running")
	}
	cmd := exec.Command(s.bin, "server", "--quiet", "--address", s.Endpoint, "--console-address", "127.0.0.1:0", s.Dir)
	cmd.Env = []string{
		"MINIO_ROOT_USER=" + s.AccessKey,
		"MINIO_ROOT_PASSWORD=" + s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"HOME=" + s.Dir,
	}
	s.log = &logBuf{}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("miniotest: start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	return s.waitLive(exited)
}

// waitLive polls the liveness endpoint; the port may still be held by the
// previous process for a moment after a restart.
func (s *Server) waitLive(exited chan struct{}) error {
	url := "http://" + s.Endpoint + "/minio/health/live"
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("miniotest: minio exited during start-up:\n%s", s.logUnlocked())
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("miniotest: minio not live at %s after 60s:\n%s", url, s.logUnlocked())
}

func (s *Server) logUnlocked() string { return s.log.String() }

// logBuf collects the server's output; exec writes it from its own goroutines.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (s *Server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("miniotest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
