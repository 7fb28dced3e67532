// Command render renders a Helm chart offline with Helm's template engine semantics: Go
// text/template with the sprig function library (as Helm, without env and expandenv), Helm's own
// functions (include, tpl, required, toYaml, fromYaml, fromYamlArray, fromJson, lookup; sprig's toJson), values merged as
// `helm template -f a.yaml -f b.yaml` merges them, and the built-in objects .Values, .Release,
// .Chart, .Capabilities and .Template. It prints every rendered manifest as a YAML stream with a
// `# Source:` comment per document, like `helm template`.
//
//	render [-name release] [-namespace ns] [-f values.yaml]... CHART_DIR
//	render -values [-f values.yaml]... CHART_DIR     (the merged values, as JSON)
//
// Used where no helm binary can be had; k8s/render.sh builds it from Debian's Go packages.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"gopkg.in/yaml.v3"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

func main() {
	var files valueFiles
	name := flag.String("name", "ciba", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.31.0", "Kubernetes version for .Capabilities")
	flag.Var(&files, "f", "values file (repeatable; later files win)")
	printValues := flag.Bool("values", false, "print the merged values as JSON instead of rendering (to validate them against values.schema.json)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: render [-name release] [-namespace ns] [-f values.yaml]... CHART_DIR")
		os.Exit(64)
	}
	if *printValues {
		values, err := mergedValues(flag.Arg(0), files)
		if err == nil {
			err = json.NewEncoder(os.Stdout).Encode(values)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
		return
	}
	out, err := render(flag.Arg(0), *name, *namespace, *kubeVersion, files)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

func render(chartDir, releaseName, namespace, kubeVersion string, files []string) (string, error) {
	var chart map[string]interface{}
	if err := readYAML(filepath.Join(chartDir, "Chart.yaml"), &chart); err != nil {
		return "", err
	}
	values, err := mergedValues(chartDir, files)
	if err != nil {
		return "", err
	}

	chartName, _ := chart["name"].(string)
	templatesDir := filepath.Join(chartDir, "templates")
	entries, err := os.ReadDir(templatesDir)
	if err != nil {
		return "", err
	}
	root := template.New("gotpl").Option("missingkey=zero")
	funcs := funcMap(root)
	root.Funcs(funcs)
	var names []string
	for _, entry := range entries {
		if entry.IsDir() {
			continue
		}
		text, err := os.ReadFile(filepath.Join(templatesDir, entry.Name()))
		if err != nil {
			return "", err
		}
		templateName := chartName + "/templates/" + entry.Name()
		if _, err := root.New(templateName).Parse(string(text)); err != nil {
			return "", err
		}
		if !strings.HasPrefix(entry.Name(), "_") && (strings.HasSuffix(entry.Name(), ".yaml") || strings.HasSuffix(entry.Name(), ".yml")) {
			names = append(names, templateName)
		}
	}
	sort.Strings(names)

	top := map[string]interface{}{
		"Values": values,
		"Chart":  helmChart(chart),
		"Release": map[string]interface{}{
			"Name": releaseName, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Files": chartFiles{dir: chartDir},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": kubeVersion, "GitVersion": kubeVersion},
			"APIVersions": apiVersions{},
		},
	}
	var stream strings.Builder
	for _, name := range names {
		scope := copyMap(top)
		scope["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, scope); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		for _, doc := range splitDocuments(text) {
			stream.WriteString("---\n# Source: " + name + "\n" + doc + "\n")
		}
	}
	return stream.String(), nil
}

// mergedValues is values.yaml with each file merged over it, in order.
func mergedValues(chartDir string, files []string) (map[string]interface{}, error) {
	values := map[string]interface{}{}
	if err := readYAML(filepath.Join(chartDir, "values.yaml"), &values); err != nil {
		return nil, err
	}
	for _, file := range files {
		override := map[string]interface{}{}
		if err := readYAML(file, &override); err != nil {
			return nil, err
		}
		values = mergeValues(values, override)
	}
	return values, nil
}

// helmChart exposes Chart.yaml as Helm does: capitalised field names.
func helmChart(chart map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for key, value := range chart {
		out[strings.ToUpper(key[:1])+key[1:]] = value
	}
	return out
}

// chartFiles is Helm's .Files: Get returns a file of the chart by its chart-relative path ("" when
// missing, as Helm does); templates/ and paths leaving the chart are not readable.
type chartFiles struct{ dir string }

func (f chartFiles) Get(name string) string {
	clean := filepath.Clean(name)
	if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") || strings.HasPrefix(clean, "templates"+string(filepath.Separator)) {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(f.dir, clean))
	if err != nil {
		return ""
	}
	return string(data)
}

// apiVersions answers .Capabilities.APIVersions.Has for the API groups a current cluster serves.
type apiVersions struct{}

func (apiVersions) Has(version string) bool {
	switch version {
	case "autoscaling/v2", "policy/v1", "networking.k8s.io/v1", "apps/v1", "v1", "batch/v1":
		return true
	case "gateway.networking.k8s.io/v1", "monitoring.coreos.com/v1":
		return true
	}
	return false
}

func funcMap(root *template.Template) template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	includedNames := map[string]int{}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if includedNames[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includedNames[name]++
		defer func() { includedNames[name]-- }()
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	funcs["required"] = func(message string, value interface{}) (interface{}, error) {
		if value == nil {
			return nil, errors.New(message)
		}
		if s, ok := value.(string); ok && s == "" {
			return nil, errors.New(message)
		}
		return value, nil
	}
	funcs["toYaml"] = func(value interface{}) string {
		var buf bytes.Buffer
		encoder := yaml.NewEncoder(&buf)
		encoder.SetIndent(2)
		if err := encoder.Encode(value); err != nil {
			return ""
		}
		return strings.TrimSuffix(buf.String(), "\n")
	}
	funcs["fromYaml"] = func(text string) map[string]interface{} {
		out := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(text), &out); err != nil {
			out["Error"] = err.Error()
		}
		return out
	}
	funcs["fromYamlArray"] = func(text string) []interface{} {
		var out []interface{}
		if err := yaml.Unmarshal([]byte(text), &out); err != nil {
			return []interface{}{err.Error()}
		}
		return out
	}
	funcs["fromJson"] = func(text string) map[string]interface{} {
		out := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(text), &out); err != nil {
			out["Error"] = err.Error()
		}
		return out
	}
	funcs["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return funcs
}

// mergeValues merges override into base as Helm merges values files: maps recursively, anything
// else replaced, null removes the key.
func mergeValues(base, override map[string]interface{}) map[string]interface{} {
	out := copyMap(base)
	for key, value := range override {
		if value == nil {
			delete(out, key)
			continue
		}
		if overrideMap, ok := value.(map[string]interface{}); ok {
			if baseMap, ok := out[key].(map[string]interface{}); ok {
				out[key] = mergeValues(baseMap, overrideMap)
				continue
			}
		}
		out[key] = value
	}
	return out
}

func copyMap(in map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(in))
	for key, value := range in {
		out[key] = value
	}
	return out
}

// splitDocuments drops documents that hold only whitespace and comments, as Helm does.
func splitDocuments(text string) []string {
	var docs []string
	for _, doc := range strings.Split("\n"+text, "\n---") {
		trimmed := strings.TrimSpace(doc)
		meaningful := false
		for _, line := range strings.Split(trimmed, "\n") {
			line = strings.TrimSpace(line)
			if line != "" && !strings.HasPrefix(line, "#") {
				meaningful = true
				break
			}
		}
		if meaningful {
			docs = append(docs, strings.TrimPrefix(strings.TrimRight(doc, " \n"), "\n"))
		}
	}
	return docs
}

func readYAML(path string, into interface{}) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
