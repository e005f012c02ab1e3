package intake

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
)

// TestIntakeStalledBodies is issue 11 item 2 on loopback: 20 connections
// announce 24 MB bodies with a wrong token and trickle them; the intake
// (bodyGate.admit, then readBody as webhook.go does) must refuse them
// from the headers, keep the heap small, and still answer valid deliveries
// quickly. The heap of this process is measured: server and clients share
// it, and the clients allocate only a 64 KiB buffer each, so growth is the
// server's buffering of bodies (what took the real server to 611 MB).
func TestIntakeStalledBodies(t *testing.T) {
	gl, err := gitlab.New(gitlab.Config{BaseURL: "http://127.0.0.1:9", Token: "t", WebhookSecret: "right"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile("../forge/gitlab/gitlabtest/testdata/note_mr.json")
	if err != nil {
		t.Fatal(err)
	}
	gate := newBodyGate(maxBodyReads)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, _, ok := gate.admit(w, r, gl)
		if !ok {
			return
		}
		body, free, err := readBody(w, r)
		release()
		defer free()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := gl.ParseWebhook(r, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Start()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var refused atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refused.Add(int32(stall(t, addr, stop)))
		}()
	}
	var peak atomic.Uint64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
		}
	}()

	var lat []time.Duration
	for i := 0; i < 200; i++ {
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/gitlab", strings.NewReader(string(payload)))
		req.Header.Set("X-Gitlab-Token", "right")
		req.Header.Set("X-Gitlab-Event", "Note Hook")
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("valid delivery answered %d", resp.StatusCode)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	<-sampled
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := lat[len(lat)*99/100]
	grew := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("valid deliveries p99 %v; heap grew %.1f MiB under 20 stalled 24 MB bodies; %d refused with 401", p99, float64(grew)/(1<<20), refused.Load())
	if grew > 80<<20 {
		t.Errorf("heap grew %d MiB under the stalled-body attack, want < 80", grew>>20)
	}
	if p99 > 50*time.Millisecond {
		t.Errorf("valid deliveries p99 %v under attack, want <= 50ms", p99)
	}
	if refused.Load() != 20 {
		t.Errorf("%d of 20 wrong-token deliveries answered 401 before their body was sent", refused.Load())
	}
}

// stall sends a 24 MB body with a wrong token, 64 KiB every 10 ms, until
// the server answers or stop; it returns 1 if the answer was 401.
func stall(t *testing.T, addr string, stop chan struct{}) int {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nX-Gitlab-Token: wrong\r\nX-Gitlab-Event: Note Hook\r\nContent-Length: %d\r\n\r\n", 24<<20)
	answer := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			answer <- 0
			return
		}
		answer <- resp.StatusCode
	}()
	buf := make([]byte, 64<<10)
	for sent := 0; sent < 24<<20; sent += len(buf) {
		select {
		case code := <-answer:
			if code == http.StatusUnauthorized {
				return 1
			}
			return 0
		case <-stop:
			return 0
		case <-time.After(10 * time.Millisecond):
		}
		if _, err := c.Write(buf); err != nil {
			break
		}
	}
	select {
	case code := <-answer:
		if code == http.StatusUnauthorized {
			return 1
		}
	case <-stop:
	}
	return 0
}

// TestIntakeGateUnauthenticatedOnly: GitHub bodies (signature shape right,
// HMAC unknown until read) take the gate's slots; when all are held by
// stalled senders the next waits gateWait and gets 503, while a GitLab
// delivery, authenticated by its token, is read at once.
func TestIntakeGateUnauthenticatedOnly(t *testing.T) {
	gh, err := github.New(github.Config{Token: "t", WebhookSecret: "right"})
	if err != nil {
		t.Fatal(err)
	}
	gl, err := gitlab.New(gitlab.Config{BaseURL: "http://127.0.0.1:9", Token: "t", WebhookSecret: "right"})
	if err != nil {
		t.Fatal(err)
	}
	gate := newBodyGate(maxBodyReads)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := forge.Forge(gh)
		if strings.HasSuffix(r.URL.Path, "gitlab") {
			f = gl
		}
		release, _, ok := gate.admit(w, r, f)
		if !ok {
			return
		}
		_, _ = io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		release()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	sig := "sha256=" + strings.Repeat("ab", 32)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < maxBodyReads; i++ {
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: %s\r\nContent-Length: 1000000\r\n\r\nx", sig)
	}
	time.Sleep(200 * time.Millisecond)
	post := func(path string, h map[string]string) int {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader("{}"))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/webhooks/gitlab", map[string]string{"X-Gitlab-Token": "right"}); code != http.StatusAccepted {
		t.Errorf("GitLab delivery with the right token answered %d while GitHub bodies hold the gate, want 202", code)
	}
	t0 := time.Now()
	if code := post("/webhooks/github", map[string]string{"X-Hub-Signature-256": sig}); code != http.StatusServiceUnavailable {
		t.Errorf("ninth GitHub body answered %d, want 503", code)
	}
	if waited := time.Since(t0); waited < gateWait {
		t.Errorf("refused after %v, want a wait of %v first", waited, gateWait)
	}
}
