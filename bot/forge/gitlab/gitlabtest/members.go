package gitlabtest

import (
	"net/http"
	"strconv"
	"strings"
)

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("username")
	if name == "" || len(q) != 1 {
		s.t.Errorf("gitlabtest: GET /users?%s: want exactly ?username=", r.URL.RawQuery)
	}
	s.mu.Lock()
	m, ok := s.users[strings.ToLower(name)]
	s.mu.Unlock()
	out := []map[string]any{}
	if ok {
		out = append(out, map[string]any{"id": m.id, "username": name, "name": name, "state": "active"})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) memberAll(w http.ResponseWriter, m []string) {
	if _, ok := s.project(w, m[1]); !ok {
		return
	}
	id, _ := strconv.ParseInt(m[2], 10, 64)
	s.mu.Lock()
	var found *member
	var name string
	for n, u := range s.users {
		if u.id == id {
			found, name = u, n
		}
	}
	s.mu.Unlock()
	if found == nil || found.level == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "username": name, "name": name,
		"state": found.state, "access_level": found.level})
}
