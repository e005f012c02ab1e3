package deploy

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// render renders the chart with Helm's engine, as `helm template` does,
// and returns the documents of every rendered file that holds any.
func render(t *testing.T, values map[string]any) ([]string, error) {
	t.Helper()
	ch, err := loader.Load("helm/imagebot")
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	vals, err := util.ToRenderValues(ch, values, common.ReleaseOptions{Name: "ib", Namespace: "imagebot", IsInstall: true}, nil)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var docs []string
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue
		}
		for _, d := range strings.Split(files[n], "\n---") {
			if strings.TrimSpace(d) != "" {
				docs = append(docs, d)
			}
		}
	}
	return docs, nil
}

// objects is what a render produced, each decoded strictly into its
// Kubernetes API type: an unknown or misspelt field fails the decode.
type objects struct {
	deployments []appsv1.Deployment
	daemonSets  []appsv1.DaemonSet
	services    []corev1.Service
	configMaps  []corev1.ConfigMap
	ingresses   []networkingv1.Ingress
}

func decodeAll(t *testing.T, docs []string) objects {
	t.Helper()
	var o objects
	for _, d := range docs {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(d), &head); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, d)
		}
		var err error
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			var x appsv1.Deployment
			err = strictInto(d, &x, &o.deployments)
		case "apps/v1 DaemonSet":
			var x appsv1.DaemonSet
			err = strictInto(d, &x, &o.daemonSets)
		case "v1 Service":
			var x corev1.Service
			err = strictInto(d, &x, &o.services)
		case "v1 ConfigMap":
			var x corev1.ConfigMap
			err = strictInto(d, &x, &o.configMaps)
		case "networking.k8s.io/v1 Ingress":
			var x networkingv1.Ingress
			err = strictInto(d, &x, &o.ingresses)
		default:
			err = fmt.Errorf("unexpected object %s %s", head.APIVersion, head.Kind)
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, d)
		}
	}
	return o
}

// strictInto decodes doc into x (rejecting unknown fields), checks its
// name is a valid DNS subdomain and appends it to list.
func strictInto[T any](doc string, x *T, list *[]T) error {
	if err := yaml.UnmarshalStrict([]byte(doc), x); err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	var meta struct {
		Metadata struct{ Name string } `json:"metadata"`
	}
	_ = yaml.Unmarshal([]byte(doc), &meta)
	if errs := validation.IsDNS1123Subdomain(meta.Metadata.Name); len(errs) > 0 {
		return fmt.Errorf("name %q: %v", meta.Metadata.Name, errs)
	}
	*list = append(*list, *x)
	return nil
}

func TestHelmChartRendersValidKubernetesObjects(t *testing.T) {
	docs, err := render(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := decodeAll(t, docs)
	if len(o.deployments) != 1 || len(o.daemonSets) != 1 || len(o.services) != 1 || len(o.configMaps) != 1 || len(o.ingresses) != 0 {
		t.Fatalf("rendered %d deployments, %d daemonsets, %d services, %d configmaps, %d ingresses",
			len(o.deployments), len(o.daemonSets), len(o.services), len(o.configMaps), len(o.ingresses))
	}
	serve := o.deployments[0]
	if serve.Spec.Replicas == nil || *serve.Spec.Replicas < 2 {
		t.Errorf("serve replicas %v, want > 1 on PostgreSQL", serve.Spec.Replicas)
	}
	checkPod(t, "serve", serve.Spec.Template.Spec, "http")
	if !strings.Contains(o.configMaps[0].Data["config.yaml"], "driver: postgres") {
		t.Errorf("config.yaml without postgres:\n%s", o.configMaps[0].Data["config.yaml"])
	}
	hosts := o.daemonSets[0]
	if hosts.Spec.Template.Spec.NodeSelector["imagebot.dev/kvm"] != "true" {
		t.Errorf("build hosts not restricted to KVM nodes: %v", hosts.Spec.Template.Spec.NodeSelector)
	}
	checkPod(t, "buildhost", hosts.Spec.Template.Spec, "health")
	kvm := hosts.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceName("devices.kubevirt.io/kvm")]
	if kvm.Value() != 1 {
		t.Errorf("build hosts do not ask for /dev/kvm: limits %v", hosts.Spec.Template.Spec.Containers[0].Resources.Limits)
	}
	svc := o.services[0]
	if svc.Spec.Selector["app.kubernetes.io/component"] != "serve" {
		t.Errorf("service selects %v", svc.Spec.Selector)
	}
}

// checkPod asserts probes, non-root, and secrets only from a Secret.
func checkPod(t *testing.T, name string, pod corev1.PodSpec, port string) {
	t.Helper()
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: runAsNonRoot not set", name)
	}
	c := pod.Containers[0]
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != port {
		t.Errorf("%s: liveness probe %+v, want GET /healthz on %s", name, p, port)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("%s: readiness probe %+v, want GET /readyz", name, p)
	}
	if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: privilege escalation allowed", name)
	}
	for _, e := range c.Env {
		if e.Value != "" && !strings.HasSuffix(e.Name, "_FILE") &&
			(strings.Contains(e.Name, "TOKEN") || strings.Contains(e.Name, "SECRET") || strings.Contains(e.Name, "URL")) {
			t.Errorf("%s: env %s carries a secret value", name, e.Name)
		}
	}
	secretVol := false
	for _, v := range pod.Volumes {
		secretVol = secretVol || (v.Secret != nil && v.Secret.SecretName == "imagebot")
	}
	if !secretVol {
		t.Errorf("%s: secrets not mounted from the Secret", name)
	}
}

func TestHelmChartIngressIsOptional(t *testing.T) {
	docs, err := render(t, map[string]any{"ingress": map[string]any{"enabled": true, "className": "nginx", "tlsSecret": "imagebot-tls"}})
	if err != nil {
		t.Fatal(err)
	}
	o := decodeAll(t, docs)
	if len(o.ingresses) != 1 {
		t.Fatalf("%d ingresses, want 1", len(o.ingresses))
	}
	ing := o.ingresses[0]
	if b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service; b == nil || b.Name != o.services[0].Name {
		t.Errorf("ingress backend %+v, want service %s", b, o.services[0].Name)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "imagebot-tls" {
		t.Errorf("ingress TLS %+v", ing.Spec.TLS)
	}
}

func TestHelmChartRefusesReplicasOnSQLite(t *testing.T) {
	_, err := render(t, map[string]any{"database": map[string]any{"driver": "sqlite"}})
	if err == nil || !strings.Contains(err.Error(), "needs database.driver postgres") {
		t.Fatalf("render with sqlite and 2 replicas: %v, want a refusal", err)
	}
	docs, err := render(t, map[string]any{"database": map[string]any{"driver": "sqlite"}, "serve": map[string]any{"replicas": 1}, "buildHosts": map[string]any{"enabled": false}})
	if err != nil {
		t.Fatal(err)
	}
	if o := decodeAll(t, docs); len(o.daemonSets) != 0 {
		t.Error("build hosts rendered while disabled")
	}
}

// TestStrictDecodeRejectsMisspeltFields shows the schema check has teeth.
func TestStrictDecodeRejectsMisspeltFields(t *testing.T) {
	doc := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n"
	var d appsv1.Deployment
	var list []appsv1.Deployment
	if err := strictInto(doc, &d, &list); err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("strict decode of spec.replica: %v, want an unknown-field error", err)
	}
	if err := strictInto("metadata: {name: Bad_Name}\n", &d, &list); err == nil {
		t.Fatal("invalid object name accepted")
	}
}
