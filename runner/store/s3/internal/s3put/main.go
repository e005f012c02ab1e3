// Command s3put uploads one file (or a generated stream) through the s3
// store's Put, exactly as a publish does, for runner/store/s3/bench.sh. It
// is a measuring tool, not part of imagebot.
//
//	S3PUT_AK=... S3PUT_SK=... s3put -endpoint 127.0.0.1:9000 -bucket b -key k -sha256 HEX FILE
//	s3put ... -key k -zeros 10GiB        # a streamed source of that many zero bytes
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/s3"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "s3put:", err)
		os.Exit(1)
	}
}

func run() error {
	endpoint := flag.String("endpoint", "", "S3 endpoint host:port (plain http)")
	bucket := flag.String("bucket", "", "bucket")
	key := flag.String("key", "", "object key")
	sum := flag.String("sha256", "", "expected hex sha256 of the source (the upload aborts when it differs)")
	zeros := flag.String("zeros", "", "upload this many zero bytes (e.g. 10GiB) read from a stream instead of a file")
	flag.Parse()
	var (
		r    io.Reader
		size int64
	)
	switch {
	case *zeros != "":
		n, err := parseSize(*zeros)
		if err != nil {
			return err
		}
		r, size = io.LimitReader(zeroReader{}, n), n
	case flag.NArg() == 1:
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		r, size = f, fi.Size()
	default:
		return fmt.Errorf("want one FILE or -zeros SIZE")
	}
	st, err := s3.New(context.Background(), store.S3Config{
		Endpoint: *endpoint, Bucket: *bucket, Insecure: true,
		AccessKeyEnv: "S3PUT_AK", SecretKeyEnv: "S3PUT_SK",
	}, nil)
	if err != nil {
		return err
	}
	obj, err := st.Put(context.Background(), *key, r, size, store.PutOptions{SHA256: *sum})
	if err != nil {
		return err
	}
	fmt.Printf("%s %d sha256=%s\n", obj.Key, obj.Size, obj.SHA256)
	return nil
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"GiB": 1 << 30, "MiB": 1 << 20, "KiB": 1 << 10} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-zeros %q: want a positive size such as 10GiB", s)
	}
	return n * mult, nil
}
