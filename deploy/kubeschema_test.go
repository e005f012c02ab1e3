package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yannh/kubeconform/pkg/resource"
	"github.com/yannh/kubeconform/pkg/validator"
	"sigs.k8s.io/yaml"
)

// The chart is validated by kubeconform (its Go library) against the
// Kubernetes API's own published OpenAPI v3 schemas: api/openapi-spec/v3 of
// the module k8s.io/kubernetes, at the release of the k8s.io/api this module
// uses. deploy/install-tools.sh downloads that module into the Go module
// cache; the test reads it from there with GOPROXY=off, never the network.
// The schemas are made standalone (one file per kind, as kubeconform's
// registry expects) and strict (additionalProperties: false wherever
// properties are listed), as kubeconform's published strict schemas are.

// kubeRelease returns the Kubernetes release matching go.mod's k8s.io/api
// (v0.37.2 -> v1.37.2).
func kubeRelease(t *testing.T) string {
	t.Helper()
	f, err := os.Open("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) >= 2 && w[0] == "k8s.io/api" && strings.HasPrefix(w[1], "v0.") {
			return "v1." + strings.TrimPrefix(w[1], "v0.")
		}
	}
	t.Fatal("go.mod: no k8s.io/api v0.x requirement")
	return ""
}

// openAPIDir finds api/openapi-spec/v3 of k8s.io/kubernetes in the module cache.
func openAPIDir(t *testing.T) string {
	t.Helper()
	release := kubeRelease(t)
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes@"+release)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var mod struct{ Dir, Error string }
	_ = json.Unmarshal(out, &mod)
	dir := filepath.Join(mod.Dir, "api", "openapi-spec", "v3")
	if _, serr := os.Stat(dir); err != nil || mod.Dir == "" || serr != nil {
		msg := fmt.Sprintf("k8s.io/kubernetes@%s is not in the Go module cache (run deploy/install-tools.sh): %v %s", release, err, mod.Error)
		if os.Getenv("IMAGEBOT_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// schemas writes kubeconform's per-kind schema files on demand.
type schemas struct {
	spec, out string
	done      map[string]bool
}

func newSchemas(t *testing.T) *schemas {
	return &schemas{spec: openAPIDir(t), out: t.TempDir(), done: map[string]bool{}}
}

// validator returns a strict kubeconform validator over the written schemas.
func (s *schemas) validator(t *testing.T) validator.Validator {
	t.Helper()
	v, err := validator.New([]string{s.out + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"}, validator.Opts{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// write makes the schema file of apiVersion/kind from the OpenAPI document
// of its group version.
func (s *schemas) write(apiVersion, kind string) error {
	if s.done[apiVersion+" "+kind] {
		return nil
	}
	group, version, ok := strings.Cut(apiVersion, "/")
	doc := "api__" + apiVersion + "_openapi.json"
	if !ok {
		group, version = "", apiVersion
	} else {
		doc = "apis__" + group + "__" + version + "_openapi.json"
	}
	data, err := os.ReadFile(filepath.Join(s.spec, doc))
	if err != nil {
		return fmt.Errorf("schema of %s %s: %w", apiVersion, kind, err)
	}
	var spec struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	name := ""
	for n, sc := range spec.Components.Schemas {
		gvks, _ := sc["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			if m, _ := g.(map[string]any); m["group"] == group && m["version"] == version && m["kind"] == kind {
				name = n
			}
		}
	}
	if name == "" {
		return fmt.Errorf("%s names no schema for %s %s", doc, apiVersion, kind)
	}
	for _, sc := range spec.Components.Schemas {
		strict(sc)
	}
	out, err := json.Marshal(map[string]any{"$ref": "#/components/schemas/" + name, "components": spec.Components})
	if err != nil {
		return err
	}
	// kubeconform's file name: <kind>-<group's first label>-<version>, or <kind>-<version> for the core group.
	suffix := "-" + version
	if group != "" {
		suffix = "-" + strings.ToLower(strings.Split(group, ".")[0]) + "-" + version
	}
	s.done[apiVersion+" "+kind] = true
	return os.WriteFile(filepath.Join(s.out, strings.ToLower(kind)+suffix+".json"), out, 0o644)
}

// strict forbids fields a schema does not list, recursively.
func strict(v any) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["properties"]; ok {
			if _, set := x["additionalProperties"]; !set {
				x["additionalProperties"] = false
			}
		}
		for _, e := range x {
			strict(e)
		}
	case []any:
		for _, e := range x {
			strict(e)
		}
	}
}

// check validates each document, returning one message per invalid one.
func (s *schemas) check(t *testing.T, docs []string) []string {
	t.Helper()
	var bad []string
	v := (validator.Validator)(nil)
	for i, d := range docs {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(d), &head); err != nil {
			bad = append(bad, fmt.Sprintf("doc %d: %v", i, err))
			continue
		}
		if err := s.write(head.APIVersion, head.Kind); err != nil {
			t.Fatal(err)
		}
		if v == nil {
			v = s.validator(t)
		}
		res := v.ValidateResource(resource.Resource{Path: fmt.Sprintf("doc%d", i), Bytes: []byte(d)})
		if res.Status != validator.Valid {
			msg := fmt.Sprintf("%s %s: status %d: %v", head.APIVersion, head.Kind, res.Status, res.Err)
			for _, e := range res.ValidationErrors {
				msg += fmt.Sprintf("\n  %s: %s", e.Path, e.Msg)
			}
			bad = append(bad, msg)
		}
	}
	return bad
}

func TestHelmChartPassesTheKubernetesAPISchemas(t *testing.T) {
	s := newSchemas(t)
	for _, tc := range []struct {
		name   string
		values map[string]any
	}{
		{"defaults", nil},
		{"ingress", map[string]any{"ingress": map[string]any{"enabled": true, "className": "nginx", "tlsSecret": "imagebot-tls"}}},
		{"sqlite, one replica, no build hosts", map[string]any{"database": map[string]any{"driver": "sqlite"},
			"serve": map[string]any{"replicas": 1}, "buildHosts": map[string]any{"enabled": false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := render(t, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) == 0 {
				t.Fatal("nothing rendered")
			}
			for _, msg := range s.check(t, docs) {
				t.Error(msg)
			}
		})
	}
}

// TestSchemaValidationHasTeeth: what strict decoding into Go types cannot
// see (a required field missing) and what it can (unknown fields, wrong
// types) both fail against the schemas.
func TestSchemaValidationHasTeeth(t *testing.T) {
	s := newSchemas(t)
	const pod = "\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers:\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"missing selector", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:" + pod + "      - {name: c, image: i}\n", "selector"},
		{"container without a name", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}" + pod + "      - {image: i}\n", "name"},
		{"misspelt field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n  selector: {matchLabels: {a: b}}" + pod + "      - {name: c, image: i}\n", "replica"},
		{"wrong type", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - {port: eighty}\n", "port"},
		{"service port without a port", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - {name: http}\n", "port"},
	} {
		bad := s.check(t, []string{tc.doc})
		if len(bad) != 1 || !strings.Contains(bad[0], tc.want) {
			t.Errorf("%s: %v, want one error naming %q", tc.name, bad, tc.want)
		}
	}
	if bad := s.check(t, []string{"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - {port: 80}\n"}); len(bad) != 0 {
		t.Errorf("a valid Service: %v", bad)
	}
}
