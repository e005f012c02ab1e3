package checks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// How Boot waits for the guest's SSH server. QEMU's user network accepts a
// connection to the forwarded port at once, whether or not anything listens
// in the guest yet; until sshd does, the connection stays silent (or is
// closed). So readiness is the server's banner ("SSH-2.0-..."), read with a
// short deadline and retried about every second, and the handshake then goes
// on over that same connection.
const (
	pollEvery      = time.Second
	dialTimeout    = 2 * time.Second
	bannerTimeout  = 3 * time.Second
	loginTimeout   = 60 * time.Second // key exchange and auth under TCG on a busy host
	maxBannerBytes = 8192             // RFC 4253 lets a server send lines before its version
)

// login waits for the guest's SSH banner at addr and logs in with the first
// of the ways (logins) that the server accepts. It gives up after o.Timeout,
// when ctx ends, or when QEMU exits.
func (g *Guest) login(ctx context.Context, addr string, key *bootKey, o BootOptions) error {
	ways := logins(key, o.User, o.Password, ssh.ClientConfig{
		// The guest made its host keys at this boot: there is nothing to pin.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	deadline := time.Now().Add(o.Timeout)
	var last error
	for i := 0; ; {
		pause := true
		conn, err := waitBanner(ctx, addr)
		if err == nil {
			way := ways[i%len(ways)]
			g.client, err = handshake(ctx, conn, addr, way.cfg)
			if err == nil {
				g.Login = way.what
				return nil
			}
			i++
			pause = i%len(ways) == 0 // the server is up: try the next way at once
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("checks: waiting for SSH: %w", ctx.Err())
		case <-g.exited:
			return fmt.Errorf("checks: the booted artifact stopped (%v) before SSH answered; console ends:\n%s", g.waitErr, g.ConsoleTail(20))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("checks: no SSH login to the booted artifact after %s: %v; console ends:\n%s", o.Timeout, last, g.ConsoleTail(20))
		}
		if !pause {
			continue
		}
		select {
		case <-ctx.Done():
		case <-g.exited:
		case <-time.After(pollEvery):
		}
	}
}

var errNoBanner = errors.New("no SSH banner yet")

// waitBanner connects to addr and reads until the server's version line.
// The returned connection replays what was read, so the SSH handshake sees
// the banner as if nothing had read it.
func waitBanner(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoBanner, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(bannerTimeout))
	r := bufio.NewReader(io.LimitReader(conn, maxBannerBytes))
	var seen strings.Builder
	for {
		line, err := r.ReadString('\n')
		seen.WriteString(line)
		if strings.HasPrefix(line, "SSH-") {
			_ = conn.SetReadDeadline(time.Time{})
			// bufio may have read past the banner: replay all of it.
			rest, _ := r.Peek(r.Buffered())
			return &replayConn{Conn: conn, r: io.MultiReader(strings.NewReader(seen.String()), strings.NewReader(string(rest)), conn)}, nil
		}
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: %v", errNoBanner, err)
		}
	}
}

// replayConn is a connection whose first bytes come from r.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// handshake runs the SSH handshake and authentication on conn, bounded by
// loginTimeout and ended at once when ctx ends (the build's other side of
// finishing failed, or the build was cancelled).
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	_ = conn.SetDeadline(time.Now().Add(loginTimeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", cfg.User, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}
