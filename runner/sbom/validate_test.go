package sbom

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestValidateRejectsBrokenSBOMs: the validator is not a rubber stamp. Each
// case breaks one thing in a real SBOM of ours (or the document itself).
func TestValidateRejectsBrokenSBOMs(t *testing.T) {
	good, err := Marshal(testInventory(), Subject{Image: "debian12-app", Version: "1.2.0", BuildID: "b1", GitSHA: "abc"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(good); err != nil {
		t.Fatalf("our SBOM: %v", err)
	}
	breakIt := func(f func(doc map[string]any)) []byte {
		var doc map[string]any
		if err := json.Unmarshal(good, &doc); err != nil {
			t.Fatal(err)
		}
		f(doc)
		data, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	component := func(doc map[string]any) map[string]any { return doc["components"].([]any)[1].(map[string]any) }
	for name, data := range map[string][]byte{
		"not json":            []byte(`{"bomFormat":`),
		"wrong bomFormat":     breakIt(func(d map[string]any) { d["bomFormat"] = "SPDX" }),
		"unknown specVersion": breakIt(func(d map[string]any) { d["specVersion"] = 1.5 }),
		"component type disk": breakIt(func(d map[string]any) { component(d)["type"] = "disk" }),
		"component no name":   breakIt(func(d map[string]any) { delete(component(d), "name") }),
		"numeric version":     breakIt(func(d map[string]any) { component(d)["version"] = 3 }),
		"timestamp not a date": breakIt(func(d map[string]any) {
			d["metadata"].(map[string]any)["timestamp"] = "yesterday"
		}),
		"serial not a urn": breakIt(func(d map[string]any) { d["serialNumber"] = "12345" }),
		"unknown field":    breakIt(func(d map[string]any) { d["imagebot"] = true }),
	} {
		if err := Validate(data); err == nil {
			t.Errorf("%s: validated", name)
		} else if !strings.Contains(err.Error(), "SBOM") {
			t.Errorf("%s: error %q does not say what was checked", name, err)
		}
	}
}

// TestEmbeddedSchemasAreCycloneDXGos: the embedded schemas are the ones the
// CycloneDX project ships in cyclonedx-go's module, not edited copies.
func TestEmbeddedSchemasAreCycloneDXGos(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("locate cyclonedx-go module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
	for ours, theirs := range map[string]string{
		"bom-1.5.schema.json": "bom-1.5.schema.json", "spdx.schema.json": "spdx.schema.json",
		"jsf-0.82.schema.json": "jsf-0.82.schemax.json", // the module's file name
	} {
		a, err := schemaFS.ReadFile("schema/" + ours)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, theirs))
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Errorf("schema/%s differs from cyclonedx-go's schema/%s", ours, theirs)
		}
	}
}
