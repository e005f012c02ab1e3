package intake

import (
	"bytes"
	"net/http"
	"sync"
)

// bodies recycles delivery buffers: under load the body read was half of
// the webhook path's allocations (io.ReadAll growing from 512 bytes), and
// the garbage collector's share of the CPU follows the allocation rate.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps a rare large delivery's buffer out of the pool, so
// the pool holds only what ordinary deliveries need.
const maxPooledBody = 256 << 10

// readBody reads r's body, at most maxWebhookBody bytes, into a pooled
// buffer sized from Content-Length when the sender declared it. The bytes
// are valid until free is called.
func readBody(w http.ResponseWriter, r *http.Request) (body []byte, free func(), err error) {
	buf := bodies.Get().(*bytes.Buffer)
	buf.Reset()
	free = func() {
		if buf.Cap() <= maxPooledBody {
			bodies.Put(buf)
		}
	}
	if n := r.ContentLength; n > 0 && n <= maxWebhookBody {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead spare to see EOF without growing
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxWebhookBody)); err != nil {
		free()
		return nil, func() {}, err
	}
	return buf.Bytes(), free, nil
}
