package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads compose/compose.yaml with the compose specification's
// own loader (schema validation, interpolation, consistency checks), with
// the given profiles active.
func loadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose/compose.yaml"},
		cli.WithWorkingDirectory("compose"),
		cli.WithProfiles(profiles),
		cli.WithEnv(nil),
		cli.WithConsistency(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose/compose.yaml: %v", err)
	}
	return p
}

func TestComposeFileIsValidAndComplete(t *testing.T) {
	p := loadCompose(t, "buildhost")
	for _, name := range []string{"imagebot", "postgres", "minio", "buildhost"} {
		svc, ok := p.Services[name]
		if !ok {
			t.Errorf("service %s missing (have %v)", name, p.ServiceNames())
			continue
		}
		if svc.HealthCheck == nil || len(svc.HealthCheck.Test) == 0 {
			t.Errorf("service %s has no healthcheck", name)
		}
		for k, v := range svc.Environment {
			up := strings.ToUpper(k)
			if v != nil && (strings.Contains(up, "TOKEN") || strings.Contains(up, "SECRET") || strings.Contains(up, "PASSWORD") || strings.HasSuffix(up, "_URL")) &&
				!strings.HasSuffix(up, "_FILE") {
				t.Errorf("service %s: %s is a secret value in the environment; use a secret file", name, k)
			}
		}
	}
	for _, name := range []string{"imagebot", "buildhost"} {
		svc := p.Services[name]
		if u, _, _ := strings.Cut(svc.User, ":"); u == "" || u == "0" || u == "root" {
			t.Errorf("service %s runs as %q, want a non-root user", name, svc.User)
		}
		if svc.Build == nil || !strings.HasPrefix(svc.Build.Dockerfile, "deploy/docker/") {
			t.Errorf("service %s: want a build from deploy/docker/", name)
		}
		if len(svc.Configs) == 0 || svc.Configs[0].Target != "/etc/imagebot/config.yaml" {
			t.Errorf("service %s: config.yaml not mounted", name)
		}
	}
	if _, ok := p.Services["imagebot"].DependsOn["postgres"]; !ok {
		t.Error("imagebot does not wait for postgres")
	}
}

func TestComposeBuildHostIsOptional(t *testing.T) {
	p := loadCompose(t)
	if _, ok := p.Services["buildhost"]; ok {
		t.Error("buildhost runs without its profile")
	}
	if _, ok := p.Services["imagebot"]; !ok {
		t.Error("imagebot missing without profiles")
	}
}
