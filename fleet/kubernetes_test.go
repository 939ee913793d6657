package fleet_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/deskphone/deskphone/fleet"
)

const manifests = "../deploy/kubernetes"

// strict decodes a manifest into a Kubernetes API type, refusing any field
// the type does not have.
func strict(t *testing.T, name string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(manifests, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestKubernetesManifests checks the manifests against the API types and
// against each other: an Indexed Job whose completions, parallelism and
// --shards agree, scraped on the port the API listens on, reading the
// fleet file of the ConfigMap, which must parse.
func TestKubernetesManifests(t *testing.T) {
	var job batchv1.Job
	strict(t, "job.yaml", &job)
	var cm corev1.ConfigMap
	strict(t, "configmap.yaml", &cm)
	var secret corev1.Secret
	strict(t, "secret.yaml", &secret)

	if job.APIVersion != "batch/v1" || job.Kind != "Job" || cm.Kind != "ConfigMap" || secret.Kind != "Secret" {
		t.Fatalf("kinds: %s %s, %s, %s", job.APIVersion, job.Kind, cm.Kind, secret.Kind)
	}
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("the job is not Indexed")
	}
	if spec.Completions == nil || spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
		t.Fatal("completions and parallelism must be set and equal")
	}
	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever && spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q: a Job needs Never or OnFailure", spec.Template.Spec.RestartPolicy)
	}
	if len(spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Template.Spec.Containers))
	}
	ctr := spec.Template.Spec.Containers[0]
	args := ctr.Args
	i := slices.Index(args, "--shards")
	if i < 0 || i+1 >= len(args) || args[i+1] != strconv.Itoa(int(*spec.Completions)) {
		t.Errorf("args %v: --shards must equal completions %d", args, *spec.Completions)
	}
	ann := spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations %v", ann)
	}
	port := ann["prometheus.io/port"]
	if j := slices.Index(args, "--api"); j < 0 || j+1 >= len(args) || args[j+1] != "0.0.0.0:"+port {
		t.Errorf("--api in %v must listen on the annotated port %s", args, port)
	}
	if len(ctr.Ports) != 1 || strconv.Itoa(int(ctr.Ports[0].ContainerPort)) != port {
		t.Errorf("container ports %v, want %s", ctr.Ports, port)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range ctr.Env {
		env[e.Name] = e
	}
	if tok := env["DESKPHONE_API_TOKEN"]; tok.ValueFrom == nil || tok.ValueFrom.SecretKeyRef == nil || tok.ValueFrom.SecretKeyRef.Name != secret.Name {
		t.Errorf("the API token must come from the secret %s", secret.Name)
	}
	// The phones share the cloud's lab directory, from a Secret mounted
	// read-only with keys only their owner reads (issue 19, item 3).
	labMounted := false
	for _, m := range ctr.VolumeMounts {
		for _, v := range spec.Template.Spec.Volumes {
			if v.Name == m.Name && m.MountPath == env["DESKPHONE_LAB"].Value && m.ReadOnly && v.Secret != nil &&
				v.Secret.DefaultMode != nil && *v.Secret.DefaultMode&0o077 == 0 {
				labMounted = true
			}
		}
	}
	if !labMounted {
		t.Errorf("DESKPHONE_LAB=%q is not a read-only Secret volume with mode 0400", env["DESKPHONE_LAB"].Value)
	}
	// The fleet file named in args is the ConfigMap's, where it is mounted.
	var mount string
	for _, m := range ctr.VolumeMounts {
		for _, v := range spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
				mount = m.MountPath
			}
		}
	}
	if mount == "" {
		t.Fatalf("no volume mounts the ConfigMap %s", cm.Name)
	}
	key, ok := "", false
	for k := range cm.Data {
		if filepath.Join(mount, k) == args[1] {
			key, ok = k, true
		}
	}
	if !ok {
		t.Fatalf("the fleet file %s is not in the ConfigMap", args[1])
	}
	cfg, err := fleet.Parse(key, []byte(cm.Data[key]), nil)
	if err != nil {
		t.Fatal(err)
	}
	members, err := cfg.Members()
	if err != nil || len(members) < int(*spec.Completions) {
		t.Fatalf("%d phones (%v) for %d shards", len(members), err, *spec.Completions)
	}
}
