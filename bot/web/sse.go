package web

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxChunk bounds one log event so a burst does not become one huge message.
const maxChunk = 64 << 10

// sse writes Server-Sent Events.
type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func startSSE(w http.ResponseWriter) (*sse, bool) {
	f, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return nil, false
	}
	Unbound(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // let a proxy pass events through at once
	w.WriteHeader(http.StatusOK)
	f.Flush()
	return &sse{w: w, f: f}, true
}

// send writes one event through Write (ssewire.go), which splits data on every line
// break a browser knows (CR LF, LF, CR) so log text cannot add fields.
func (s *sse) send(event, id, data string) error {
	if err := Write(s.w, event, id, data); err != nil {
		return err
	}
	s.f.Flush()
	return nil
}

// buildEvents streams a build's log and status: "log" events carry new
// whole lines (the event id is the log offset, so a reconnecting browser
// resumes where it was), "status" the re-rendered header, "done" the end.
func (s *Server) buildEvents(w http.ResponseWriter, r *http.Request) {
	b, ok := s.lookupBuild(w, r)
	if !ok {
		return
	}
	var offset int64
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		offset, _ = strconv.ParseInt(id, 10, 64)
	} else if q := r.URL.Query().Get("offset"); q != "" {
		offset, _ = strconv.ParseInt(q, 10, 64)
	}
	ev, ok := startSSE(w)
	if !ok {
		return
	}
	ctx := r.Context()
	tick := time.NewTicker(s.opts.Poll)
	defer tick.Stop()
	lastStatus := ""
	for {
		data, done, err := s.opts.Builds.Log(ctx, b.ID, offset)
		if err != nil {
			s.opts.Log.Warn().Err(err).Str("build", b.ID).Msg("follow build log")
			return
		}
		// Send whole lines only while the log grows, so a line (or a UTF-8
		// character) is never cut between two events.
		if !done {
			if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
				data = data[:i+1]
			} else {
				data = nil
			}
		}
		for len(data) > 0 {
			n := min(len(data), maxChunk)
			for n < len(data) && n > 0 && !utf8.RuneStart(data[n]) {
				n--
			}
			offset += int64(n)
			// The page adds the newline back after each event.
			chunk := strings.TrimSuffix(string(data[:n]), "\n")
			if err := ev.send("log", strconv.FormatInt(offset, 10), chunk); err != nil {
				return
			}
			data = data[n:]
		}
		if cur, err := s.opts.Builds.Build(ctx, b.ID); err == nil {
			if html, err := s.fragment("build-head", cur); err == nil && html != lastStatus {
				if ev.send("status", "", html) != nil {
					return
				}
				lastStatus = html
			}
		}
		if done {
			ev.send("done", "", "")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// buildsEvents sends the recent-builds table again whenever it changes.
func (s *Server) buildsEvents(w http.ResponseWriter, r *http.Request) {
	if s.opts.Builds == nil {
		http.Error(w, "no build history", http.StatusNotFound)
		return
	}
	ev, ok := startSSE(w)
	if !ok {
		return
	}
	ctx := r.Context()
	tick := time.NewTicker(2 * s.opts.Poll)
	defer tick.Stop()
	last := ""
	for {
		list, err := s.opts.Builds.Recent(ctx, recentLimit)
		if err != nil {
			s.opts.Log.Warn().Err(err).Msg("follow recent builds")
			return
		}
		html, err := s.fragment("build-rows", list)
		if err != nil {
			s.opts.Log.Error().Err(err).Msg("render build rows")
			return
		}
		if html != last {
			if ev.send("builds", "", html) != nil {
				return
			}
			last = html
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
