package web

import (
	"net/http/httptest"
	"testing"
)

// Issue 11 item 3: a log chunk with bare CRs must reach the browser as one
// "log" event, never as an injected "status" event.
func TestSendSplitsCR(t *testing.T) {
	rec := httptest.NewRecorder()
	ev, ok := startSSE(rec)
	if !ok {
		t.Fatal("startSSE refused a recorder")
	}
	payload := "ok\revent: status\rdata: <img src=x onerror=alert(1)>\r\r"
	if err := ev.send("log", "5", payload); err != nil {
		t.Fatal(err)
	}
	got := Parse(rec.Body.String())
	if len(got) != 1 || got[0].Name != "log" || got[0].ID != "5" {
		t.Fatalf("browser sees %+v, want one log event", got)
	}
}
