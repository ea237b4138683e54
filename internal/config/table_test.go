package config

import (
	"bytes"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The table covers every field of Config exactly once, under the name its
// yaml tags give, and the names in the other layers follow from it.
func TestTableMatchesConfig(t *testing.T) {
	var fields []string
	var walk func(typ reflect.Type, prefix string)
	walk = func(typ reflect.Type, prefix string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := prefix + f.Tag.Get("yaml")
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, name+".")
				continue
			}
			fields = append(fields, name)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	if got := names(table); !reflect.DeepEqual(got, fields) {
		t.Errorf("table settings\n%q\nConfig fields\n%q", got, fields)
	}

	seen := map[string]string{}
	for _, s := range table {
		if want := "AVSCOUT_" + strings.ToUpper(strings.ReplaceAll(s.Name, ".", "_")); s.Env != want {
			t.Errorf("%s: env %q, want %q", s.Name, s.Env, want)
		}
		// The managed key is the name in CamelCase, initialisms in capitals.
		flat := strings.NewReplacer(".", "", "_", "").Replace(s.Name)
		if !strings.EqualFold(s.Managed, flat) || !unicode.IsUpper(rune(s.Managed[0])) {
			t.Errorf("%s: managed key %q does not spell %q", s.Name, s.Managed, flat)
		}
		for _, k := range []string{s.Name, s.Env, strings.ToLower(s.Managed)} {
			if other, dup := seen[k]; dup && other != s.Name {
				t.Errorf("%q used by %s and %s", k, other, s.Name)
			}
			seen[k] = s.Name
		}
		if s.Help == "" || s.check == nil || s.field == nil {
			t.Errorf("%s: incomplete table entry", s.Name)
		}
		// field points into the Config it is given, with the kind's type.
		var c Config
		want := map[Kind]reflect.Type{
			KindString: reflect.TypeFor[*string](), KindPath: reflect.TypeFor[*string](),
			KindDuration: reflect.TypeFor[*Duration](), KindInt: reflect.TypeFor[*int](),
			KindSize: reflect.TypeFor[*int64](), KindList: reflect.TypeFor[*[]string](),
			KindTags: reflect.TypeFor[*map[string]string](),
		}[s.Kind]
		if got := reflect.TypeOf(s.field(&c)); got != want {
			t.Errorf("%s: field is %v, kind %s wants %v", s.Name, got, s.Kind, want)
		}
	}
	if got := Settings(); len(got) != len(table) || got[0] != table[0].Setting {
		t.Errorf("Settings() = %v", got)
	}
}

// The documented example names every setting, loads to the defaults as
// shipped, and still loads to the (Linux) defaults with every setting
// uncommented: the defaults it documents are the real ones.
func TestExampleConfig(t *testing.T) {
	text := readTestdata(t, "config.example.yaml")
	setting := regexp.MustCompile(`(?m)^(\s*)#([a-z_]+:.*)$`)
	uncommented := setting.ReplaceAllString(text, "$1$2")
	shown := map[string]bool{}
	for _, m := range setting.FindAllStringSubmatch(text, -1) {
		key, _, _ := strings.Cut(m[2], ":")
		shown[key] = true
	}
	for _, s := range table {
		leaf := s.Name[strings.LastIndex(s.Name, ".")+1:]
		if !shown[leaf] {
			t.Errorf("the example does not show %s as #%s: default", s.Name, leaf)
		}
	}
	for _, tt := range []struct {
		name, text string
		os         OS
		origin     string
	}{
		{"as_shipped_linux", text, Linux, OriginDefault},
		{"as_shipped_windows", text, Windows, OriginDefault},
		{"as_shipped_darwin", text, Darwin, OriginDefault},
		{"uncommented_linux", uncommented, Linux, OriginFile},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "config.yaml", tt.text, 0o600)
			e, err := Load(LoadOptions{OS: tt.os, Path: path, Euid: -1})
			if err != nil {
				t.Fatalf("%v\n%s", err, tt.text)
			}
			if !reflect.DeepEqual(e.Config, Defaults(tt.os)) {
				t.Errorf("got %+v\nwant the defaults %+v", e.Config, Defaults(tt.os))
			}
			for _, s := range table {
				if e.Origin[s.Name] != tt.origin {
					t.Errorf("origin of %s = %q, want %q", s.Name, e.Origin[s.Name], tt.origin)
				}
			}
		})
	}
}

// The example shipped for administrators is the one these tests load.
func TestPackagedExampleIsTheTestedOne(t *testing.T) {
	shipped, err := os.ReadFile("../../packaging/config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tested, err := os.ReadFile("testdata/config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, tested) {
		t.Error("packaging/config.example.yaml differs from internal/config/testdata/config.example.yaml: copy the tested one over")
	}
}
