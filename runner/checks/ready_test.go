package checks

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// A port that accepts and says nothing (QEMU's forward before sshd listens)
// is "no banner yet" within the banner timeout, not a hang.
func TestWaitBannerSilentPort(t *testing.T) {
	l := listen(t, func(c net.Conn) { time.Sleep(10 * time.Second); c.Close() })
	started := time.Now()
	_, err := waitBanner(context.Background(), l.Addr().String())
	if !errors.Is(err, errNoBanner) {
		t.Fatalf("err = %v, want errNoBanner", err)
	}
	if took := time.Since(started); took > bannerTimeout+time.Second {
		t.Errorf("waited %s for a silent port", took)
	}
	// A port closed at once (forward up, nothing listening) is the same.
	l2 := listen(t, func(c net.Conn) { c.Close() })
	if _, err := waitBanner(context.Background(), l2.Addr().String()); !errors.Is(err, errNoBanner) {
		t.Fatalf("closed port: err = %v", err)
	}
}

// Once the banner is read, the handshake runs on the same connection (the
// banner replayed) and logs in with the key; lines a server may send before
// its version line are passed through too.
func TestWaitBannerThenLogin(t *testing.T) {
	key, err := newBootKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, pre := range []string{"", "hello from the guest\r\n"} {
		l := listen(t, func(c net.Conn) { serveSSH(t, c, key, pre) })
		conn, err := waitBanner(context.Background(), l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		ways := logins(key, "", "", ssh.ClientConfig{HostKeyCallback: ssh.InsecureIgnoreHostKey()})
		client, err := handshake(context.Background(), conn, l.Addr().String(), ways[0].cfg)
		if err != nil {
			t.Fatalf("pre %q: %v", pre, err)
		}
		s, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Output("id")
		if err != nil || string(out) != "root\n" {
			t.Errorf("pre %q: run: %q %v", pre, out, err)
		}
		client.Close()
	}
}

// A handshake with a server that sent its banner and then stalls (a guest
// still starting sshd's children under TCG) ends as soon as ctx ends, not
// after loginTimeout: finishing cancels the checks when an artifact fails.
func TestHandshakeEndsWithContext(t *testing.T) {
	key, err := newBootKey()
	if err != nil {
		t.Fatal(err)
	}
	l := listen(t, func(c net.Conn) {
		c.Write([]byte("SSH-2.0-stalling\r\n"))
		time.Sleep(10 * time.Second)
		c.Close()
	})
	conn, err := waitBanner(context.Background(), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	started := time.Now()
	ways := logins(key, "", "", ssh.ClientConfig{HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if _, err := handshake(ctx, conn, l.Addr().String(), ways[0].cfg); err == nil {
		t.Fatal("handshake with a stalled server succeeded")
	}
	if took := time.Since(started); took > 2*time.Second {
		t.Errorf("handshake went on %s after its context ended", took)
	}
}

func listen(t *testing.T, serve func(net.Conn)) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return l
}

// serveSSH is a real SSH server (x/crypto/ssh) accepting only root with key,
// answering every exec with "root".
func serveSSH(t *testing.T, c net.Conn, key *bootKey, pre string) {
	defer c.Close()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	host, _ := ssh.NewSignerFromKey(hostPriv)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(m ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if m.User() == "root" && string(k.Marshal()) == string(key.signer.PublicKey().Marshal()) {
			return nil, nil
		}
		return nil, errors.New("denied")
	}}
	cfg.AddHostKey(host)
	if pre != "" {
		c.Write([]byte(pre))
	}
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		t.Logf("server: %v", err)
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for r := range creqs {
				if r.Type == "exec" {
					r.Reply(true, nil)
					ch.Write([]byte("root\n"))
					ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
					ch.Close()
					return
				}
				r.Reply(false, nil)
			}
		}()
	}
}
