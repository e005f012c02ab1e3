package miniotest_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/imagebot/imagebot/runner/store/miniotest"
)

func TestMinIOStartsStopsAndKeepsDataAcrossRestart(t *testing.T) {
	s := miniotest.Start(t)
	ctx := context.Background()
	c := s.Client(t)
	data := []byte("survives a restart")
	if _, err := c.PutObject(ctx, s.Bucket, "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if _, err := c.StatObject(ctx, s.Bucket, "k", minio.StatObjectOptions{}); err == nil {
		t.Fatal("stat succeeded while MinIO was stopped")
	}
	s.Restart()
	obj, err := c.GetObject(ctx, s.Bucket, "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after restart: %q, %v", got, err)
	}
}
