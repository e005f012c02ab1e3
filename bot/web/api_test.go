package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
)

// apiHistory is one build whose status the test changes.
type apiHistory struct {
	mu sync.Mutex
	b  state.Build
}

func (h *apiHistory) RecentBuilds(context.Context, int) ([]state.Build, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return []state.Build{h.b}, nil
}

func (h *apiHistory) GetBuild(_ context.Context, id string) (state.Build, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id != h.b.ID {
		return state.Build{}, queue.ErrNoRows
	}
	return h.b, nil
}

type apiLive chan string

func (l apiLive) Subscribe(string) (<-chan string, func()) { return l, func() {} }

// The JSON API's routes and status codes, and its event stream written by
// the one SSE writer: a log line with bare CRs stays one "log" event.
func TestAPIRoutesAndEventStream(t *testing.T) {
	h := &apiHistory{b: state.Build{ID: "b1", Status: state.StatusRunning, LogTail: "tail\n"}}
	live := make(apiLive, 1)
	a := NewAPI(h, live, nil)
	a.poll = 10 * time.Millisecond
	mux := http.NewServeMux()
	a.Mount(func(p string, hd http.Handler) { mux.Handle(p, hd) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		path, ctype string
		code        int
	}{
		{"/api/builds", "application/json", 200},
		{"/api/builds?limit=5000", "application/json", 200},
		{"/api/builds/b1", "application/json", 200},
		{"/api/builds/nope", "text/plain; charset=utf-8", 404},
		{"/api/builds/b1/log", "text/plain; charset=utf-8", 200},
		{"/api/builds/nope/log", "text/plain; charset=utf-8", 404},
		{"/api/builds/nope/events", "text/plain; charset=utf-8", 404},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code || resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.code, tc.ctype)
		}
	}

	live <- "ok\revent: status\rdata: <b>"
	go func() {
		time.Sleep(50 * time.Millisecond)
		h.mu.Lock()
		h.b.Status = "succeeded"
		h.mu.Unlock()
	}()
	resp, err := http.Get(srv.URL + "/api/builds/b1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: Content-Type %q", ct)
	}
	body, err := io.ReadAll(resp.Body) // the stream ends with the build
	if err != nil {
		t.Fatal(err)
	}
	evs := Parse(string(body))
	var names []string
	for _, e := range evs {
		names = append(names, e.Name)
	}
	if len(evs) < 3 || evs[0].Name != "build" || evs[1].Name != "log" || evs[len(evs)-1].Name != "build" {
		t.Fatalf("events %v, want build, log, …, build", names)
	}
	for _, e := range evs {
		if e.Name == "status" {
			t.Fatalf("log text became an event of its own: %v", names)
		}
	}
	var last state.Build
	if err := json.Unmarshal([]byte(evs[len(evs)-1].Data), &last); err != nil || last.Status != "succeeded" {
		t.Fatalf("last build event %q (%v), want succeeded", evs[len(evs)-1].Data, err)
	}
}
