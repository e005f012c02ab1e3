package config

// The environment side of the configuration: IMAGEBOT_* variables over the
// YAML file, and secrets read from the files their *_FILE keys name.

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// applyEnv sets every field from IMAGEBOT_<YAML_PATH> (secrets from
// IMAGEBOT_<PATH_TO_SECRET>), e.g. IMAGEBOT_GITLAB_TOKEN, IMAGEBOT_QUEUE_BUILD_WORKERS.
func applyEnv(v reflect.Value, prefix string, vars map[string]string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if s := f.Tag.Get("secret"); s != "" {
			name = s
		}
		if name == "" || name == "-" || f.Tag.Get("env") == "-" {
			continue // env:"-": structured values come only from the file
		}
		key := prefix + "_" + strings.ToUpper(name)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, key, vars); err != nil {
				return err
			}
			continue
		}
		val, ok := vars[key]
		if !ok {
			continue
		}
		if err := setField(fv, val); err != nil {
			return fmt.Errorf("environment %s: %w", key, err)
		}
	}
	return nil
}

func setField(fv reflect.Value, val string) error {
	switch fv.Interface().(type) {
	case string:
		fv.SetString(val)
	case int:
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("%q is not a number", val)
		}
		fv.SetInt(int64(n))
	case bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%q is not true or false", val)
		}
		fv.SetBool(b)
	case *bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%q is not true or false", val)
		}
		fv.Set(reflect.ValueOf(&b))
	case time.Duration:
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 5s)", val)
		}
		fv.SetInt(int64(d))
	case []string:
		var list []string
		for _, s := range strings.Split(val, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		fv.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}

// readSecretFiles fills each secret field from its <name>File field when the
// secret is not already set from the environment.
func readSecretFiles(v reflect.Value, prefix string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Struct {
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if err := readSecretFiles(v.Field(i), prefix+"_"+strings.ToUpper(name)); err != nil {
				return err
			}
			continue
		}
		secret := f.Tag.Get("secret")
		if secret == "" || v.Field(i).String() != "" {
			continue
		}
		file := v.FieldByName(f.Name + "File")
		if !file.IsValid() || file.String() == "" {
			continue
		}
		data, err := os.ReadFile(file.String())
		if err != nil {
			return fmt.Errorf("read %s_file for %s_%s: %w", secret, prefix, strings.ToUpper(secret), err)
		}
		v.Field(i).SetString(strings.TrimSpace(string(data)))
	}
	return nil
}
