package s3_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
)

// TestS3PublisherKilledMidUploadLeavesNothingVisible runs Publish in a child
// process (this test binary), SIGKILLs it in the middle of a multipart
// upload, and checks that the build is invisible, that the unfinished
// upload is what remains (and can be aborted), and that the release can
// then be published.
func TestS3PublisherKilledMidUploadLeavesNothingVisible(t *testing.T) {
	srv := miniotest.Start(t)
	st := newStore(t, srv, nil)
	ref, files := bigBuild(t, 40<<20)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSlowPublish$", "-test.v")
	cmd.Env = append(os.Environ(),
		"IMAGEBOT_STORE_HELPER=1",
		"HELPER_ENDPOINT="+srv.Endpoint, "HELPER_BUCKET="+st.Bucket(),
		"TEST_S3_AK="+srv.AccessKey, "TEST_S3_SK="+srv.SecretKey,
		"HELPER_FILE="+files[0].Path, "HELPER_SHA="+files[0].SHA256, "HELPER_PREFIX="+ref.Prefix())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	uploading := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "UPLOADING") {
			uploading = true
			break
		}
	}
	if !uploading {
		t.Fatal("the child never started uploading")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	ctx := context.Background()
	if objs, _ := st.List(ctx, ref.Prefix()); len(objs) != 0 {
		t.Fatalf("killed publish left visible objects %v", objs)
	}
	if builds, _ := store.Builds(ctx, st, "deb12"); len(builds) != 0 {
		t.Fatalf("killed publish is visible: %+v", builds)
	}
	// MinIO lists unfinished uploads by exact key only.
	aborted, err := st.AbortIncomplete(ctx, ref.Key("deb12-1.0.0.qcow2"))
	if err != nil || len(aborted) != 1 || aborted[0] != ref.Key("deb12-1.0.0.qcow2") {
		t.Fatalf("unfinished uploads after the kill: %v, %v; want the qcow2's", aborted, err)
	}
	if _, err := store.Publish(ctx, st, ref.Prefix(), files, []byte(`{}`), store.PublishOptions{}); err != nil {
		t.Fatalf("publishing after the killed attempt: %v", err)
	}
}

// TestHelperSlowPublish is the child of the test above; it does nothing in
// a normal run.
func TestHelperSlowPublish(t *testing.T) {
	if os.Getenv("IMAGEBOT_STORE_HELPER") != "1" {
		t.Skip("helper process only")
	}
	st, err := s3.New(context.Background(), store.S3Config{
		Endpoint: os.Getenv("HELPER_ENDPOINT"), Bucket: os.Getenv("HELPER_BUCKET"), Insecure: true,
		AccessKeyEnv: "TEST_S3_AK", SecretKeyEnv: "TEST_S3_SK", PartSizeMiB: 5,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	said := false
	opts := store.PublishOptions{Progress: func(key string, sent, total int64) {
		if sent > total/3 {
			if !said {
				os.Stdout.WriteString("UPLOADING\n")
				said = true
			}
			time.Sleep(50 * time.Millisecond) // stay mid-upload until killed
		}
	}}
	files := []store.LocalFile{{Name: "deb12-1.0.0.qcow2", Path: os.Getenv("HELPER_FILE"), SHA256: os.Getenv("HELPER_SHA")}}
	_, err = store.Publish(context.Background(), st, os.Getenv("HELPER_PREFIX"), files, []byte(`{}`), opts)
	t.Fatalf("the helper was meant to be killed, but Publish returned %v", err)
}
