package access

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Issue 11 item 10: with ui_listen and metrics_listen the address the forge
// reaches serves webhooks and health only; the token guards pages, API and
// /metrics; webhooks never need it.
func TestPlan(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tc := range []struct {
		name            string
		ui, metrics, tk string
		want            map[string][3]int // path -> code on listen, ui, metrics
	}{
		{"split with token", "ui", "m", "s3cret", map[string][3]int{
			"/webhooks/gitlab": {418, 404, 404},
			"/healthz":         {418, 418, 418},
			"/api/builds":      {404, 401, 404},
			"/builds/x":        {404, 401, 404},
			"/metrics":         {404, 404, 418},
		}},
		{"one listener with token", "", "", "s3cret", map[string][3]int{
			"/webhooks/gitlab": {418},
			"/api/builds":      {401},
			"/metrics":         {401},
			"/readyz":          {418},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls := Plan(h, "main", tc.ui, tc.metrics, tc.tk)
			by := map[string]http.Handler{}
			for _, l := range ls {
				by[l.Addr] = l.Handler
			}
			order := []string{"main", tc.ui, tc.metrics}
			for path, codes := range tc.want {
				for i, addr := range order {
					if addr == "" && i > 0 {
						continue
					}
					rec := httptest.NewRecorder()
					by[addr].ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
					if rec.Code != codes[i] {
						t.Errorf("%s on %s: %d, want %d", path, addr, rec.Code, codes[i])
					}
				}
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/api/builds", nil)
			req.Header.Set("Authorization", "Bearer s3cret")
			by[order[0]].ServeHTTP(rec, req)
			if tc.ui == "" && rec.Code != 418 {
				t.Errorf("right token refused: %d", rec.Code)
			}
		})
	}
}

// TestTokenLeavesTheTrustedAPIToItsHandler: the UI token guards the pages
// and API but not the trusted callers' paths, which check their own tokens.
func TestTokenLeavesTheTrustedAPIToItsHandler(t *testing.T) {
	h := Token(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }), "ui-token", UI)
	for path, want := range map[string]int{"/api/revocations": http.StatusTeapot, "/api/promotions": http.StatusTeapot,
		"/api/builds": http.StatusUnauthorized, "/api/revocations/x": http.StatusUnauthorized} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, path, nil)
		req.Header.Set("Authorization", "Bearer caller-token")
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
}
