package forge

import (
	"fmt"
	"os"
	"strings"
)

// Secret reads a secret from the environment: $NAME itself, or the file
// named by $NAME_FILE (trailing newline trimmed), as container platforms
// mount them. It returns "" when neither is set; setting both is an error.
// The value is never part of an error.
func Secret(name string) (string, error) {
	val, hasVal := os.LookupEnv(name)
	path, hasFile := os.LookupEnv(name + "_FILE")
	switch {
	case hasVal && hasFile:
		return "", fmt.Errorf("secret %s: both %s and %s_FILE are set; set one", name, name, name)
	case hasFile:
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("secret %s: read %s_FILE: %w", name, name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return val, nil
}
