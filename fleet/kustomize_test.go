package fleet_test

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/fleet"
)

// cluster is what deploy/kubernetes builds to, decoded into the API types.
type cluster struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	claims      map[string]*corev1.PersistentVolumeClaim
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	jobs        map[string]*batchv1.Job
}

// decodeCluster decodes a multi-document YAML stream (kustomize's output)
// strictly: an unknown field or kind is an error.
func decodeCluster(stream []byte) (*cluster, error) {
	c := &cluster{
		deployments: map[string]*appsv1.Deployment{},
		services:    map[string]*corev1.Service{},
		claims:      map[string]*corev1.PersistentVolumeClaim{},
		configMaps:  map[string]*corev1.ConfigMap{},
		secrets:     map[string]*corev1.Secret{},
		jobs:        map[string]*batchv1.Job{},
	}
	for i, doc := range bytes.Split(stream, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		var into any
		switch meta.APIVersion + " " + meta.Kind {
		case "apps/v1 Deployment":
			into = put(c.deployments, meta.Metadata.Name)
		case "v1 Service":
			into = put(c.services, meta.Metadata.Name)
		case "v1 PersistentVolumeClaim":
			into = put(c.claims, meta.Metadata.Name)
		case "v1 ConfigMap":
			into = put(c.configMaps, meta.Metadata.Name)
		case "v1 Secret":
			into = put(c.secrets, meta.Metadata.Name)
		case "batch/v1 Job":
			into = put(c.jobs, meta.Metadata.Name)
		default:
			return nil, fmt.Errorf("object %d: unexpected %s %s", i, meta.APIVersion, meta.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			return nil, fmt.Errorf("%s %s: %w", meta.Kind, meta.Metadata.Name, err)
		}
	}
	return c, nil
}

// put makes m's entry for name and returns it; a name twice is kept
// once, as the API server would refuse the second.
func put[T any](m map[string]*T, name string) *T {
	v := new(T)
	m[name] = v
	return v
}

// kustomizeBuild builds deploy/kubernetes as kubectl apply -k does.
func kustomizeBuild(t *testing.T) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), manifests)
	if err != nil {
		t.Fatal(err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// arg is the value after flag in args, "" when absent.
func arg(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// TestKustomization builds deploy/kubernetes with the kustomize library
// (what kubectl apply -k runs) and checks the objects against each other:
// one image name, set in the kustomization, everywhere; the Service
// selecting the mock cloud's pods on the port it listens on; the fleet's
// server URI naming the Service and the cloud's domain (its certificate's
// name); the cloud's load users covering every phone of the fleet file;
// its state on the claim; both sides on one lab Secret, as the image's
// non-root user. With kubectl on PATH, kubectl kustomize must give the
// same objects.
func TestKustomization(t *testing.T) {
	out := kustomizeBuild(t)
	c, err := decodeCluster(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.deployments) != 1 || len(c.services) != 1 || len(c.claims) != 1 || len(c.jobs) != 1 || len(c.configMaps) != 1 {
		t.Fatalf("objects: %d deployments, %d services, %d claims, %d jobs, %d configmaps; want one each",
			len(c.deployments), len(c.services), len(c.claims), len(c.jobs), len(c.configMaps))
	}
	dep, svc, job := c.deployments["deskphone-backend"], c.services["deskphone-backend"], c.jobs["deskphone-fleet"]
	if dep == nil || svc == nil || job == nil {
		t.Fatalf("want the Deployment and Service deskphone-backend and the Job deskphone-fleet")
	}

	// The image: named once, in the kustomization's images.
	data, err := os.ReadFile(filepath.Join(manifests, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kz types.Kustomization
	if err := yaml.UnmarshalStrict(data, &kz); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if len(kz.Images) != 1 || kz.Images[0].NewName == "" || kz.Images[0].NewTag == "" {
		t.Fatalf("kustomization images %+v: want one, with newName and newTag", kz.Images)
	}
	image := kz.Images[0].NewName + ":" + kz.Images[0].NewTag
	pods := map[string]corev1.PodSpec{"Deployment " + dep.Name: dep.Spec.Template.Spec, "Job " + job.Name: job.Spec.Template.Spec}
	for who, pod := range pods {
		for _, ctr := range slices.Concat(pod.InitContainers, pod.Containers) {
			if ctr.Image != image {
				t.Errorf("%s: container %s runs %q, want the kustomization's %q", who, ctr.Name, ctr.Image, image)
			}
		}
		// The image's user (deploy/Containerfile), its group owning
		// the volumes (the lab Secret's keys 0440: internal/labdir).
		sc := pod.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 ||
			sc.FSGroup == nil || *sc.FSGroup != 65532 {
			t.Errorf("%s: pod securityContext %+v, want runAsNonRoot, runAsUser and fsGroup 65532", who, sc)
		}
	}

	// The Deployment's pods: its selector, the Service's, one container.
	tmpl := dep.Spec.Template
	if dep.Spec.Selector == nil || !subset(dep.Spec.Selector.MatchLabels, tmpl.Labels) || len(dep.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("the Deployment's selector %v does not select its pods %v", dep.Spec.Selector, tmpl.Labels)
	}
	if len(svc.Spec.Selector) == 0 || !subset(svc.Spec.Selector, tmpl.Labels) {
		t.Errorf("the Service selects %v, the cloud's pods are %v", svc.Spec.Selector, tmpl.Labels)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 || dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("the cloud: replicas %v, strategy %q; want one pod, Recreate (its state volume is ReadWriteOnce)", dep.Spec.Replicas, dep.Spec.Strategy.Type)
	}
	if len(tmpl.Spec.Containers) != 1 {
		t.Fatalf("%d containers in the cloud's pod, want 1", len(tmpl.Spec.Containers))
	}
	ctr := tmpl.Spec.Containers[0]
	args := ctr.Args
	if len(args) == 0 || args[0] != "backend" {
		t.Fatalf("the cloud's args %v: want deskphone backend", args)
	}

	// It listens on the pod's address, on the container port the
	// Service targets.
	listen := arg(args, "--listen")
	transport, hostPort, _ := strings.Cut(listen, ":")
	host, port, err := net.SplitHostPort(hostPort)
	if transport != "tls" || err != nil {
		t.Fatalf("--listen %q: want tls:HOST:PORT (%v)", listen, err)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range ctr.Env {
		env[e.Name] = e
	}
	if v, ok := strings.CutPrefix(host, "$("); !ok || env[strings.TrimSuffix(v, ")")].ValueFrom == nil ||
		env[strings.TrimSuffix(v, ")")].ValueFrom.FieldRef == nil || env[strings.TrimSuffix(v, ")")].ValueFrom.FieldRef.FieldPath != "status.podIP" {
		t.Errorf("--listen host %q: want $(VAR) of an env var set from status.podIP", host)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service ports %v, want one", svc.Spec.Ports)
	}
	sp := svc.Spec.Ports[0]
	var target *corev1.ContainerPort
	for i, p := range ctr.Ports {
		if (sp.TargetPort.StrVal != "" && p.Name == sp.TargetPort.StrVal) || (sp.TargetPort.StrVal == "" && p.ContainerPort == sp.TargetPort.IntVal) {
			target = &ctr.Ports[i]
		}
	}
	if target == nil || strconv.Itoa(int(target.ContainerPort)) != port {
		t.Errorf("the Service targets %v, the cloud listens on %s (container ports %v)", sp.TargetPort, port, ctr.Ports)
	}

	// The fleet's server URI names the Service and its port; the cloud's
	// domain is that name, so its certificate names it too.
	cm := c.configMaps["deskphone-fleet"]
	if cm == nil {
		t.Fatal("no ConfigMap deskphone-fleet")
	}
	cfg, err := fleet.Parse("fleet.yaml", []byte(cm.Data["fleet.yaml"]), nil)
	if err != nil {
		t.Fatal(err)
	}
	members, err := cfg.Members()
	if err != nil {
		t.Fatal(err)
	}
	ns := svc.Namespace
	if ns == "" {
		ns = "default"
	}
	want := svc.Name + "." + ns + ".svc"
	for _, m := range members {
		u, err := url.Parse(m.Server)
		if err != nil || u.Scheme != "sips" {
			t.Fatalf("%s: server %q: want sips:HOST:PORT (%v)", m.ID, m.Server, err)
		}
		h, p, err := net.SplitHostPort(u.Opaque)
		if err != nil || (h != want && !strings.HasPrefix(h, want+".")) || p != strconv.Itoa(int(sp.Port)) {
			t.Fatalf("%s: server %q: want the Service %s on port %d", m.ID, m.Server, want, sp.Port)
		}
		if d := arg(args, "--domain"); d != h || (m.Domain != "" && m.Domain != d) {
			t.Fatalf("the cloud's --domain %q, the phones' server host %q and domain %q: its certificate must name the host", d, h, m.Domain)
		}
	}

	// Every phone has its account in the cloud.
	accounts := map[string]string{}
	for i, a := range args {
		if a != "--load-users" || i+1 == len(args) {
			continue
		}
		users, err := backend.ParseLoadUsers(args[i+1])
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			accounts[u.User] = u.Password
		}
	}
	for _, m := range members {
		if pw, ok := accounts[m.ID]; !ok || pw != m.Password {
			t.Fatalf("phone %s (password %q): the cloud's --load-users have %q, %v", m.ID, m.Password, pw, ok)
		}
	}

	// The state on the claim, the lab from the Job's Secret.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range ctr.VolumeMounts {
		mounts[m.Name] = m
	}
	var stateOnClaim, labShared bool
	jobLab := labSecret(job.Spec.Template.Spec)
	for _, v := range tmpl.Spec.Volumes {
		m, ok := mounts[v.Name]
		switch {
		case !ok:
		case v.PersistentVolumeClaim != nil && c.claims[v.PersistentVolumeClaim.ClaimName] != nil:
			stateOnClaim = m.MountPath == arg(args, "--state") && !m.ReadOnly
		case v.Secret != nil && jobLab != "" && v.Secret.SecretName == jobLab:
			labShared = m.MountPath == env["DESKPHONE_LAB"].Value && m.ReadOnly
		}
	}
	if !stateOnClaim {
		t.Errorf("--state %q is not a writable mount of a PersistentVolumeClaim of the kustomization", arg(args, "--state"))
	}
	if !labShared {
		t.Errorf("DESKPHONE_LAB=%q is not the Job's lab Secret %q, mounted read-only", env["DESKPHONE_LAB"].Value, jobLab)
	}

	// kubectl kustomize is the same build.
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not on PATH: kubectl kustomize not compared")
		return
	}
	cmd := exec.Command(kubectl, "kustomize", manifests)
	cmd.Stderr = os.Stderr
	kout, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", manifests, err)
	}
	kc, err := decodeCluster(kout)
	if err != nil {
		t.Fatalf("kubectl kustomize: %v", err)
	}
	if !reflect.DeepEqual(c, kc) {
		t.Errorf("kubectl kustomize gives other objects than the kustomize library:\n%s\nvs\n%s", kout, out)
	}
}

// labSecret is the Secret the pod mounts at $DESKPHONE_LAB, "" if none.
func labSecret(pod corev1.PodSpec) string {
	for _, ctr := range pod.Containers {
		for _, e := range ctr.Env {
			if e.Name != "DESKPHONE_LAB" {
				continue
			}
			for _, m := range ctr.VolumeMounts {
				for _, v := range pod.Volumes {
					if v.Name == m.Name && m.MountPath == e.Value && v.Secret != nil {
						return v.Secret.SecretName
					}
				}
			}
		}
	}
	return ""
}

// subset reports whether every label of sel is in labels.
func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
