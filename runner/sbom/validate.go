package sbom

import (
	"bytes"
	"embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The CycloneDX 1.5 JSON schema and the two schemas it references, as the
// CycloneDX project publishes them and cyclonedx-go ships them in its
// module's schema/ directory (TestEmbeddedSchemasAreCycloneDXGos checks
// they are byte-identical). Embedded so validation never fetches anything.
//
//go:embed schema/bom-1.5.schema.json schema/spdx.schema.json schema/jsf-0.82.schema.json
var schemaFS embed.FS

const schemaBase = "http://cyclonedx.org/schema/" // the schemas' $id prefix

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// compiled compiles the embedded schema once, with format assertions on
// (date-time, iri-reference, email, ...), which draft-07 leaves optional.
func compiled() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		for _, name := range []string{"bom-1.5.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"} {
			data, err := schemaFS.ReadFile("schema/" + name)
			if err != nil {
				schemaErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				schemaErr = fmt.Errorf("schema %s: %w", name, err)
				return
			}
			if err := c.AddResource(schemaBase+name, doc); err != nil {
				schemaErr = fmt.Errorf("schema %s: %w", name, err)
				return
			}
		}
		schema, schemaErr = c.Compile(schemaBase + "bom-1.5.schema.json")
	})
	return schema, schemaErr
}

// Validate checks a CycloneDX JSON document against the CycloneDX 1.5 JSON
// schema with github.com/santhosh-tekuri/jsonschema (a maintained validator
// of drafts 4 to 2020-12). The runner validates every SBOM it writes, so a
// document scanners would reject is never published.
func Validate(data []byte) error {
	s, err := compiled()
	if err != nil {
		return fmt.Errorf("CycloneDX schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("SBOM is not JSON: %w", err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("SBOM does not conform to the CycloneDX 1.5 schema: %w", err)
	}
	return nil
}
