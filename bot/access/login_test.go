package access_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/bot/access"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
)

// browser follows redirects one by one and keeps cookies itself (the
// session cookie is Secure; Go's cookie jar would not send it over the
// tests' plain HTTP).
type browser struct {
	t       *testing.T
	cookies map[string]*http.Cookie
	client  *http.Client
}

func newBrowser(t *testing.T) *browser {
	return &browser{t: t, cookies: map[string]*http.Cookie{},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, u string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("Accept", "text/html")
	for _, c := range b.cookies {
		if strings.HasPrefix(req.URL.Path, c.Path) {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return resp, string(body)
}

// follow GETs u and every redirect after it (across the app and the
// forge), returning the last answer.
func (b *browser) follow(u string) (*http.Response, string) {
	b.t.Helper()
	for i := 0; i < 10; i++ {
		resp, body := b.do(http.MethodGet, u)
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			return resp, body
		}
		next, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
		u = next.String()
	}
	b.t.Fatal("too many redirects")
	return nil, ""
}

var repos = []string{"infra/images", "infra/secret", "other/public"}

// forgeCase sets a fake forge up for alice: a member of infra/images only,
// other/public public, infra/secret neither.
type forgeCase struct {
	name  string
	setup func(t *testing.T, callback string) access.Provider
	deny  func()
}

func forges() []forgeCase {
	var gl *gitlabtest.Server
	var gh *githubtest.Server
	return []forgeCase{
		{name: "gitlab", setup: func(t *testing.T, callback string) access.Provider {
			gl = gitlabtest.New(t, "bot-token")
			gl.AddProject(43, "infra/secret")
			gl.AddProject(44, "other/public")
			gl.EnableOAuth(t, gitlabtest.OAuthApp{ClientID: "app-id", ClientSecret: "app-secret", RedirectURI: callback, Scope: "read_api"})
			gl.Approve("alice")
			gl.SetProjectAccess("alice", "infra/images", gitlabtest.Reporter)
			gl.SetPublic("other/public")
			p, err := access.GitLab(access.ProviderConfig{WebURL: gl.URL, ClientID: "app-id", ClientSecret: "app-secret"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, deny: func() { gl.Approve("") }},
		{name: "github", setup: func(t *testing.T, callback string) access.Provider {
			gh = githubtest.New(t, "bot-token")
			gh.AddRepo("infra/secret", 2)
			gh.AddRepo("other/public", 3)
			gh.EnableOAuth(t, githubtest.OAuthApp{ClientID: "app-id", ClientSecret: "app-secret", RedirectURI: callback, Scope: "repo"})
			gh.Approve("alice")
			gh.SetRepoReader("alice", "infra/images")
			gh.SetPublicRepo("other/public")
			p, err := access.GitHub(access.ProviderConfig{WebURL: strings.TrimSuffix(gh.URL, "/"), APIURL: gh.URL, ClientID: "app-id", ClientSecret: "app-secret"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, deny: func() { gh.Approve("") }},
	}
}

// app is the bot's UI as far as access goes: a page and an API listing the
// repositories whose builds the viewer may see.
func app(t *testing.T, fc forgeCase) (*httptest.Server, forgeCase) {
	var login *access.Login
	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := access.ViewerOf(r.Context())
		fmt.Fprintf(w, "viewer %s machine=%v:", v.User.Login, v.Machine)
		for _, repo := range repos {
			if login.CanRead(r.Context(), repo) {
				fmt.Fprint(w, " "+repo)
			}
		}
	})
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	p := fc.setup(t, srv.URL+access.CallbackPath)
	var err error
	login, err = access.NewLogin(access.LoginConfig{Provider: p, PublicURL: srv.URL, Token: "machine-token"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = login.Handler(list, access.UI)
	return srv, fc
}

// TestSignInWithTheForgeShowsOnlyReadableRepositories (issue 11 item 10):
// pages and API need a session or the machine token; a person signs in
// through the forge's OAuth flow and sees exactly the repositories the
// forge lets them read; the session cookie is Secure, HttpOnly, SameSite.
func TestSignInWithTheForgeShowsOnlyReadableRepositories(t *testing.T) {
	for _, fc := range forges() {
		t.Run(fc.name, func(t *testing.T) {
			srv, _ := app(t, fc)
			b := newBrowser(t)
			// Not signed in: the page sends the browser to sign in, the API refuses.
			resp, _ := b.do(http.MethodGet, srv.URL+"/builds/7?x=1")
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/login?next="+url.QueryEscape("/builds/7?x=1") {
				t.Fatalf("page without a session: %s to %q", resp.Status, resp.Header.Get("Location"))
			}
			if resp, _ := b.do(http.MethodGet, srv.URL+"/api/builds"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("API without a session: %s", resp.Status)
			}
			// Sign in: app -> forge -> callback -> the page asked for.
			resp, body := b.follow(srv.URL + "/builds/7?x=1")
			if resp.StatusCode != http.StatusOK || resp.Request.URL.RequestURI() != "/builds/7?x=1" {
				t.Fatalf("after sign-in: %s at %s: %s", resp.Status, resp.Request.URL, body)
			}
			if want := "viewer alice machine=false: infra/images other/public"; body != want {
				t.Errorf("alice sees %q, want %q", body, want)
			}
			c := b.cookies["imagebot_session"]
			if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || len(c.Value) < 40 {
				t.Errorf("session cookie %+v: want Secure, HttpOnly, SameSite=Lax, a long random value", c)
			}
			if _, body := b.do(http.MethodGet, srv.URL+"/api/builds"); body != "viewer alice machine=false: infra/images other/public" {
				t.Errorf("API with the session: %q", body)
			}
			// The machine token sees everything.
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/builds", nil)
			req.Header.Set("Authorization", "Bearer machine-token")
			mresp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			mbody, _ := io.ReadAll(mresp.Body)
			mresp.Body.Close()
			if string(mbody) != "viewer  machine=true: infra/images infra/secret other/public" {
				t.Errorf("machine sees %q", mbody)
			}
			// Sign out: the session is gone.
			if resp, _ := b.do(http.MethodGet, srv.URL+access.LogoutPath); resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("GET logout: %s, want 405", resp.Status)
			}
			sid := c.Value
			b.do(http.MethodPost, srv.URL+access.LogoutPath)
			b.cookies["imagebot_session"] = &http.Cookie{Name: "imagebot_session", Value: sid, Path: "/"}
			if resp, _ := b.do(http.MethodGet, srv.URL+"/api/builds"); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("API with a signed-out session id: %s", resp.Status)
			}
		})
	}
}

// TestSignInRefusesForgedOrReplayedCallbacks: a callback whose state is not
// this browser's (login CSRF), a replayed one, a denied authorization and
// an open redirect in next.
func TestSignInRefusesForgedOrReplayedCallbacks(t *testing.T) {
	for _, fc := range forges() {
		t.Run(fc.name, func(t *testing.T) {
			srv, fc := app(t, fc)
			// The attacker's own sign-in, stopped at the callback...
			attacker := newBrowser(t)
			resp, _ := attacker.do(http.MethodGet, srv.URL+access.LoginPath)
			resp, _ = attacker.do(http.MethodGet, resp.Header.Get("Location"))
			callback := resp.Header.Get("Location")
			// ...opened in the victim's browser: refused, no session.
			victim := newBrowser(t)
			if resp, _ := victim.do(http.MethodGet, callback); resp.StatusCode != http.StatusBadRequest || victim.cookies["imagebot_session"] != nil {
				t.Errorf("forged callback: %s, session %v", resp.Status, victim.cookies["imagebot_session"])
			}
			// The attacker's own browser may use it once, not twice.
			if resp, _ := attacker.do(http.MethodGet, callback); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("callback after the state was spent: %s", resp.Status)
			}
			// next must stay on this site.
			b := newBrowser(t)
			resp, _ = b.follow(srv.URL + access.LoginPath + "?next=" + url.QueryEscape("//evil.example/x"))
			if resp.Request.URL.Host != strings.TrimPrefix(srv.URL, "http://") || resp.Request.URL.Path != "/" {
				t.Errorf("next=//evil.example ended at %s", resp.Request.URL)
			}
			// The person denies the app on the forge.
			fc.deny()
			if resp, _ := newBrowser(t).follow(srv.URL + access.LoginPath); resp.StatusCode != http.StatusForbidden {
				t.Errorf("denied sign-in: %s", resp.Status)
			}
		})
	}
}

func TestProviderConfigChecked(t *testing.T) {
	if _, err := access.GitLab(access.ProviderConfig{WebURL: "gitlab.example.com", ClientID: "a", ClientSecret: "b"}); err == nil {
		t.Error("a GitLab URL without scheme was accepted")
	}
	if _, err := access.GitHub(access.ProviderConfig{ClientID: "a"}); err == nil {
		t.Error("a GitHub app without secret was accepted")
	}
	p, _ := access.GitHub(access.ProviderConfig{ClientID: "a", ClientSecret: "b"})
	if _, err := access.NewLogin(access.LoginConfig{Provider: p, PublicURL: "/relative"}); err == nil {
		t.Error("a relative public URL was accepted")
	}
}

// With ui_listen, sign-in lives on the UI listener only; the address the
// forge reaches serves webhooks and health, no sign-in and no pages.
func TestPlanGuardedBySignIn(t *testing.T) {
	p, err := access.GitLab(access.ProviderConfig{WebURL: "https://gitlab.example.com", ClientID: "a", ClientSecret: "b"})
	if err != nil {
		t.Fatal(err)
	}
	login, err := access.NewLogin(access.LoginConfig{Provider: p, PublicURL: "https://imagebot.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	ls := access.PlanGuarded(h, "main", "ui", "", login.Handler)
	for path, want := range map[string][2]int{
		"/webhooks/gitlab": {418, 404},
		"/healthz":         {418, 418},
		"/login":           {404, 302},
		"/api/builds":      {404, 401},
		"/metrics":         {404, 401},
	} {
		for i, l := range ls {
			rec := httptest.NewRecorder()
			l.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != want[i] {
				t.Errorf("%s on %s: %d, want %d", path, l.Addr, rec.Code, want[i])
			}
		}
	}
}
