package kubernetes

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// rendered is one kustomization's output, strictly decoded.
type rendered struct {
	cronJobs    []batchv1.CronJob
	jobs        []batchv1.Job
	deployments []appsv1.Deployment
	configMaps  []corev1.ConfigMap
	secrets     []corev1.Secret
	services    []corev1.Service
	accounts    []corev1.ServiceAccount
	namespaces  []corev1.Namespace
}

// render builds the kustomization in dir (relative to this directory) from
// the disk and decodes every object into its k8s.io/api type; an unknown
// field anywhere is an error.
func render(t *testing.T, dir string) *rendered {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := &rendered{}
	for _, res := range m.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var target any
		switch gvk := res.GetGvk(); gvk.ApiVersion() + "/" + gvk.Kind {
		case "batch/v1/CronJob":
			out.cronJobs = append(out.cronJobs, batchv1.CronJob{})
			target = &out.cronJobs[len(out.cronJobs)-1]
		case "batch/v1/Job":
			out.jobs = append(out.jobs, batchv1.Job{})
			target = &out.jobs[len(out.jobs)-1]
		case "apps/v1/Deployment":
			out.deployments = append(out.deployments, appsv1.Deployment{})
			target = &out.deployments[len(out.deployments)-1]
		case "v1/ConfigMap":
			out.configMaps = append(out.configMaps, corev1.ConfigMap{})
			target = &out.configMaps[len(out.configMaps)-1]
		case "v1/Secret":
			out.secrets = append(out.secrets, corev1.Secret{})
			target = &out.secrets[len(out.secrets)-1]
		case "v1/Service":
			out.services = append(out.services, corev1.Service{})
			target = &out.services[len(out.services)-1]
		case "v1/ServiceAccount":
			out.accounts = append(out.accounts, corev1.ServiceAccount{})
			target = &out.accounts[len(out.accounts)-1]
		case "v1/Namespace":
			out.namespaces = append(out.namespaces, corev1.Namespace{})
			target = &out.namespaces[len(out.namespaces)-1]
		default:
			t.Fatalf("%s: unexpected object %s %s", dir, gvk, res.GetName())
		}
		if err := yaml.UnmarshalStrict(y, target); err != nil {
			t.Fatalf("%s: %s %s does not decode strictly: %v\n%s", dir, res.GetKind(), res.GetName(), err, y)
		}
	}
	return out
}

func TestBase(t *testing.T) {
	r := render(t, "base")
	if len(r.cronJobs) != 2 || len(r.jobs) != 1 || len(r.configMaps) != 1 || len(r.accounts) != 1 {
		t.Fatalf("base: want 2 CronJobs (run, backfill), 1 Job, 1 ConfigMap, 1 ServiceAccount; got %d, %d, %d, %d",
			len(r.cronJobs), len(r.jobs), len(r.configMaps), len(r.accounts))
	}
	if len(r.secrets) != 0 {
		t.Error("base must not contain a Secret (an installation brings its own)")
	}
	if len(r.deployments) != 0 {
		t.Error("base must not contain the scheduler Deployment (components/schedule adds it)")
	}
	checkCronJob(t, r, cronJobNamed(t, r, "scriptstats"))
	checkBackfillCronJob(t, r, cronJobNamed(t, r, "scriptstats-backfill"))
	checkMigrateJob(t, r, r.jobs[0])
	if got := r.configMaps[0].Data["SCRIPTSTATS_BACKFILL_DAYS"]; got != "7" {
		t.Errorf("base SCRIPTSTATS_BACKFILL_DAYS %q, want 7", got)
	}
	if r.configMaps[0].Data["SCRIPTSTATS_TIMEZONE"] != "UTC" {
		t.Errorf("base time zone: %q, want UTC", r.configMaps[0].Data["SCRIPTSTATS_TIMEZONE"])
	}
	sa := r.accounts[0]
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("ServiceAccount: automountServiceAccountToken must be false")
	}
}

func TestExampleOverlay(t *testing.T) {
	r := render(t, "overlays/example")
	if len(r.cronJobs) != 2 || len(r.jobs) != 1 || len(r.secrets) != 1 || len(r.namespaces) != 1 {
		t.Fatalf("example: want 2 CronJobs, 1 Job, 1 Secret, 1 Namespace; got %d, %d, %d, %d",
			len(r.cronJobs), len(r.jobs), len(r.secrets), len(r.namespaces))
	}
	const ns = "scriptstats"
	if r.namespaces[0].Name != ns {
		t.Errorf("namespace %q, want %q", r.namespaces[0].Name, ns)
	}
	for _, o := range r.objects() {
		if o.kind != "Namespace" && o.namespace != ns {
			t.Errorf("%s %s: namespace %q, want %q", o.kind, o.name, o.namespace, ns)
		}
	}
	cj := cronJobNamed(t, r, "scriptstats")
	bf := cronJobNamed(t, r, "scriptstats-backfill")
	checkCronJob(t, r, cj)
	checkBackfillCronJob(t, r, bf)
	checkMigrateJob(t, r, r.jobs[0])
	for _, c := range []batchv1.CronJob{cj, bf} {
		if got := c.Spec.TimeZone; got == nil || *got != "Europe/Berlin" {
			t.Errorf("example CronJob %s timeZone %v, want Europe/Berlin", c.Name, got)
		}
	}
	for _, pod := range []corev1.PodSpec{cj.Spec.JobTemplate.Spec.Template.Spec, bf.Spec.JobTemplate.Spec.Template.Spec, r.jobs[0].Spec.Template.Spec} {
		if img := pod.Containers[0].Image; img != "ghcr.io/scriptstats/scriptstats:1.0.0" {
			t.Errorf("image %q, want the pinned ghcr.io/scriptstats/scriptstats:1.0.0", img)
		}
	}
	cm := configMapOf(t, r, cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0])
	if cm.Data["SCRIPTSTATS_PUSHGATEWAY_URL"] == "" {
		t.Error("example: SCRIPTSTATS_PUSHGATEWAY_URL is not set")
	}
	if cm.Data["SCRIPTSTATS_LOG_FORMAT"] != "json" {
		t.Error("example: the base settings were lost by the merge")
	}
	checkSecretPlaceholder(t, r.secrets[0])
}

func TestExampleScheduleOverlay(t *testing.T) {
	r := render(t, "overlays/example-schedule")
	if len(r.cronJobs) != 0 {
		t.Error("the schedule variant must not keep the CronJob (both would run passes)")
	}
	if len(r.deployments) != 1 || len(r.services) != 1 || len(r.jobs) != 1 {
		t.Fatalf("want 1 Deployment, 1 Service, 1 migrate Job; got %d, %d, %d", len(r.deployments), len(r.services), len(r.jobs))
	}
	checkMigrateJob(t, r, r.jobs[0])
	d := r.deployments[0]
	if d.Namespace != "scriptstats" {
		t.Errorf("Deployment namespace %q", d.Namespace)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Error("Deployment: want exactly 1 replica")
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment strategy %q, want Recreate (never two schedulers)", d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template.Spec
	checkPod(t, r, "Deployment", pod, "schedule", true)
	if n := configMapOf(t, r, pod.Containers[0]).Data["SCRIPTSTATS_BACKFILL_DAYS"]; n != "7" {
		t.Errorf("schedule variant: SCRIPTSTATS_BACKFILL_DAYS %q, want 7 (the nightly backfill's trailing days)", n)
	}
	checkNoStatementTimeout(t, r, "Deployment", pod.Containers[0])
	c := pod.Containers[0]
	if c.Image != "ghcr.io/scriptstats/scriptstats:1.0.0" {
		t.Errorf("Deployment image %q", c.Image)
	}
	var port int32
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			port = p.ContainerPort
		}
	}
	if port == 0 {
		t.Fatal("Deployment: no container port named metrics")
	}
	if addr := envValue(c, "SCRIPTSTATS_METRICS_ADDR"); addr != fmt.Sprintf(":%d", port) {
		t.Errorf("SCRIPTSTATS_METRICS_ADDR %q does not match the metrics port %d", addr, port)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "metrics" {
			t.Errorf("%s probe: want httpGet /healthz on port metrics, got %+v", name, p)
		}
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Deployment selector %s=%s does not match the pod labels", k, v)
		}
	}
	svc := r.services[0]
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not select the scheduler pod", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("Service ports %+v: want one port targeting metrics", svc.Spec.Ports)
	}
}

// minPassDeadline is the least activeDeadlineSeconds of a pass that may
// load the whole history or backfill many days: at the measured ≈ 48k
// runs/s (docs/performance.md), 4 h is ≈ 7·10⁸ runs. A shorter deadline
// kills a first load, and each retry starts over.
const minPassDeadline = 4 * 3600

func cronJobNamed(t *testing.T, r *rendered, name string) batchv1.CronJob {
	t.Helper()
	for _, cj := range r.cronJobs {
		if cj.Name == name {
			return cj
		}
	}
	t.Fatalf("no CronJob %q", name)
	return batchv1.CronJob{}
}

// checkPassCronJob checks what both CronJobs share.
func checkPassCronJob(t *testing.T, r *rendered, cj batchv1.CronJob, command string) corev1.PodSpec {
	t.Helper()
	s := cj.Spec
	what := "CronJob " + cj.Name
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("%s concurrencyPolicy %q, want Forbid", what, s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 {
		t.Errorf("%s: startingDeadlineSeconds must be set", what)
	}
	if s.TimeZone == nil || *s.TimeZone == "" {
		t.Fatalf("%s: timeZone must be explicit", what)
	}
	js := s.JobTemplate.Spec
	if js.BackoffLimit == nil {
		t.Errorf("%s: backoffLimit must be set", what)
	}
	if js.ActiveDeadlineSeconds == nil || *js.ActiveDeadlineSeconds < minPassDeadline {
		t.Errorf("%s: activeDeadlineSeconds %v: want at least %d (a first load or a backfill must not be killed)", what, js.ActiveDeadlineSeconds, minPassDeadline)
	}
	pod := js.Template.Spec
	checkPod(t, r, what, pod, command, true)
	// The schedule fires in the zone the days are computed in.
	cm := configMapOf(t, r, pod.Containers[0])
	if tz := cm.Data["SCRIPTSTATS_TIMEZONE"]; tz != *s.TimeZone {
		t.Errorf("%s timeZone %q differs from SCRIPTSTATS_TIMEZONE %q", what, *s.TimeZone, tz)
	}
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s restartPolicy %q, want Never", what, pod.RestartPolicy)
	}
	checkNoStatementTimeout(t, r, what, pod.Containers[0])
	return pod
}

// checkCronJob checks the CronJob running `scriptstats run`.
func checkCronJob(t *testing.T, r *rendered, cj batchv1.CronJob) {
	t.Helper()
	s := cj.Spec
	if *s.StartingDeadlineSeconds >= 300 {
		t.Errorf("CronJob startingDeadlineSeconds %d: must be below the 5-minute interval", *s.StartingDeadlineSeconds)
	}
	if s.Schedule != "*/5 * * * *" {
		t.Errorf("CronJob schedule %q", s.Schedule)
	}
	pod := checkPassCronJob(t, r, cj, "run")
	if args := pod.Containers[0].Args; !slices.Equal(args, []string{"run"}) {
		t.Errorf("run CronJob args %q", args)
	}
}

// checkBackfillCronJob checks the nightly backfill, which applies the
// source's deletes: once a day, over SCRIPTSTATS_BACKFILL_DAYS trailing
// days taken from the ConfigMap without a shell, retried when an
// incremental pass holds the lock (exit 3).
func checkBackfillCronJob(t *testing.T, r *rendered, cj batchv1.CronJob) {
	t.Helper()
	s := cj.Spec
	daily := regexp.MustCompile(`^[0-9]{1,2} [0-9]{1,2} \* \* \*$`)
	if !daily.MatchString(s.Schedule) {
		t.Errorf("backfill CronJob schedule %q: want once a day (M H * * *)", s.Schedule)
	}
	pod := checkPassCronJob(t, r, cj, "backfill")
	c := pod.Containers[0]
	want := []string{"backfill", "--trailing-days", "$(SCRIPTSTATS_BACKFILL_DAYS)"}
	if !slices.Equal(c.Args, want) {
		t.Fatalf("backfill CronJob args %q, want %q", c.Args, want)
	}
	// Kubernetes expands $(VAR) from the container's environment (env and
	// envFrom); an unknown one stays literal and the flag would not parse.
	cm := configMapOf(t, r, c)
	n, err := strconv.Atoi(cm.Data["SCRIPTSTATS_BACKFILL_DAYS"])
	if err != nil || n < 1 {
		t.Errorf("SCRIPTSTATS_BACKFILL_DAYS %q in ConfigMap %s: want a whole number of days >= 1", cm.Data["SCRIPTSTATS_BACKFILL_DAYS"], cm.Name)
	}
	if hasEnv(c, "SCRIPTSTATS_BACKFILL_DAYS") {
		t.Error("backfill CronJob: SCRIPTSTATS_BACKFILL_DAYS must come from the ConfigMap alone")
	}
	if !strings.Contains(cliSource(t), `"trailing-days"`) {
		t.Error("cmd/scriptstats has no --trailing-days flag")
	}
	js := s.JobTemplate.Spec
	if *js.BackoffLimit < 3 {
		t.Errorf("backfill CronJob backoffLimit %d: want at least 3 (exit 3 at the nightly start is an incremental pass holding the lock for seconds)", *js.BackoffLimit)
	}
	if p := js.PodFailurePolicy; p != nil {
		for _, rule := range p.Rules {
			if rule.Action == batchv1.PodFailurePolicyActionFailJob && rule.OnExitCodes != nil && slices.Contains(rule.OnExitCodes.Values, 3) {
				t.Error("backfill CronJob: exit 3 (lock held) must be retried, not fail the Job: the next backfill is a day away")
			}
		}
	}
	if c.Resources.Limits.Memory().Value() < 512<<20 {
		t.Errorf("backfill CronJob memory limit %s: want at least 512Mi", c.Resources.Limits.Memory())
	}
}

// checkNoStatementTimeout: no statement timeout in the environment of a
// pass: a first load and a backfill read with one long query each.
func checkNoStatementTimeout(t *testing.T, r *rendered, what string, c corev1.Container) {
	t.Helper()
	v, ok := configMapOf(t, r, c).Data["SCRIPTSTATS_STATEMENT_TIMEOUT"]
	if hasEnv(c, "SCRIPTSTATS_STATEMENT_TIMEOUT") {
		v, ok = envValue(c, "SCRIPTSTATS_STATEMENT_TIMEOUT"), true
	}
	if !ok {
		return
	}
	if d, err := time.ParseDuration(v); err != nil || d != 0 {
		t.Errorf("%s: SCRIPTSTATS_STATEMENT_TIMEOUT=%s would cancel a first load or a backfill", what, v)
	}
}

func checkMigrateJob(t *testing.T, r *rendered, j batchv1.Job) {
	t.Helper()
	if j.Spec.BackoffLimit == nil || j.Spec.ActiveDeadlineSeconds == nil {
		t.Error("migrate Job: backoffLimit and activeDeadlineSeconds must be set")
	}
	checkPod(t, r, "migrate Job", j.Spec.Template.Spec, "migrate", false)
	if envValue(j.Spec.Template.Spec.Containers[0], "SCRIPTSTATS_PG_DSN") != "" ||
		hasEnv(j.Spec.Template.Spec.Containers[0], "SCRIPTSTATS_PG_DSN") {
		t.Error("migrate Job: needs no PostgreSQL DSN")
	}
}

// checkPod checks what every scriptstats pod shares: the command, the
// hardening, the resources, the settings and secrets.
func checkPod(t *testing.T, r *rendered, what string, pod corev1.PodSpec, command string, needPG bool) {
	t.Helper()
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken must be false", what)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod securityContext must set runAsNonRoot and a non-zero runAsUser", what)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: want 1 container, got %d", what, len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Command) != 0 || len(c.Args) == 0 || c.Args[0] != command {
		t.Errorf("%s: args %q, want the image's entrypoint with %q", what, c.Args, command)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatalf("%s: container has no securityContext", what)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Errorf("%s: runAsNonRoot must be true", what)
	case sc.RunAsUser == nil || *sc.RunAsUser == 0:
		t.Errorf("%s: runAsUser must be set and not 0", what)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: readOnlyRootFilesystem must be true", what)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: allowPrivilegeEscalation must be false", what)
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
		t.Errorf("%s: capabilities must drop ALL and add none", what)
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[res]
		lim, okLim := c.Resources.Limits[res]
		if !okReq || !okLim {
			t.Errorf("%s: resources requests and limits of %s must be set", what, res)
		} else if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above the limit %s", what, res, req.String(), lim.String())
		}
	}
	// Settings from the ConfigMap, DSNs from the Secret, never inline.
	cm := configMapOf(t, r, c)
	if cm.Data["SCRIPTSTATS_LOG_FORMAT"] != "json" {
		t.Errorf("%s: SCRIPTSTATS_LOG_FORMAT %q, want json", what, cm.Data["SCRIPTSTATS_LOG_FORMAT"])
	}
	if cm.Data["SCRIPTSTATS_TIMEZONE"] == "" {
		t.Errorf("%s: SCRIPTSTATS_TIMEZONE is not set in the ConfigMap", what)
	}
	for k, v := range cm.Data {
		if strings.Contains(k, "DSN") || strings.Contains(v, "@") {
			t.Errorf("ConfigMap %s: %s looks like a DSN; DSNs belong in the Secret", cm.Name, k)
		}
	}
	dsns := []string{"SCRIPTSTATS_CLICKHOUSE_DSN"}
	if needPG {
		dsns = append(dsns, "SCRIPTSTATS_PG_DSN")
	}
	for _, name := range dsns {
		var ref *corev1.SecretKeySelector
		for _, e := range c.Env {
			if e.Name == name {
				if e.Value != "" {
					t.Errorf("%s: %s has an inline value", what, name)
				}
				if e.ValueFrom != nil {
					ref = e.ValueFrom.SecretKeyRef
				}
			}
		}
		if ref == nil {
			t.Errorf("%s: %s must come from a secretKeyRef", what, name)
			continue
		}
		if len(r.secrets) == 0 {
			continue // the base: the installation brings the Secret
		}
		found := false
		for _, s := range r.secrets {
			if s.Name == ref.Name {
				_, inData := s.Data[ref.Key]
				_, inString := s.StringData[ref.Key]
				found = inData || inString
			}
		}
		if !found {
			t.Errorf("%s: %s refers to key %q of Secret %q, which the rendering does not hold", what, name, ref.Key, ref.Name)
		}
	}
}

// configMapOf returns the ConfigMap the container takes its environment
// from (the generated name, with its hash suffix, must resolve).
func configMapOf(t *testing.T, r *rendered, c corev1.Container) corev1.ConfigMap {
	t.Helper()
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		for _, cm := range r.configMaps {
			if cm.Name == ef.ConfigMapRef.Name {
				return cm
			}
		}
		t.Fatalf("container %s: envFrom ConfigMap %q is not in the rendering", c.Name, ef.ConfigMapRef.Name)
	}
	t.Fatalf("container %s: no envFrom configMapRef", c.Name)
	return corev1.ConfigMap{}
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func hasEnv(c corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}

// checkSecretPlaceholder: the example Secret must be obviously fake.
func checkSecretPlaceholder(t *testing.T, s corev1.Secret) {
	t.Helper()
	if s.Name != "scriptstats-dsn" {
		t.Errorf("Secret name %q", s.Name)
	}
	if len(s.StringData) == 0 {
		t.Fatal("example Secret: no stringData")
	}
	for k, v := range s.StringData {
		if !strings.Contains(v, "REPLACE_ME") || !strings.Contains(v, ".invalid") {
			t.Errorf("example Secret %s=%q is not clearly a placeholder (REPLACE_ME password, .invalid host)", k, v)
		}
	}
	raw, err := os.ReadFile("overlays/example/secret.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "PLACEHOLDER") {
		t.Error("secret.example.yaml must say it is a PLACEHOLDER")
	}
}

// TestSettingsAreFlags: every SCRIPTSTATS_* variable the manifests set is
// the environment fallback of a flag that exists in cmd/scriptstats, so a
// typo cannot silently leave a setting at its default.
func TestExampleClusterOverlay(t *testing.T) {
	r := render(t, "overlays/example-cluster")
	if len(r.cronJobs) != 2 || len(r.jobs) != 1 {
		t.Fatalf("want the run and backfill CronJobs and the migrate Job; got %d CronJobs, %d Jobs", len(r.cronJobs), len(r.jobs))
	}
	checkMigrateJob(t, r, r.jobs[0])
	for _, cj := range r.cronJobs {
		cm := configMapOf(t, r, cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0])
		if cm.Data["SCRIPTSTATS_CLICKHOUSE_CLUSTER"] != "analytics" || cm.Data["SCRIPTSTATS_CLICKHOUSE_CLUSTER_DDL"] != "on-cluster" {
			t.Errorf("CronJob %s: the cluster settings are not in its ConfigMap: %v", cj.Name, cm.Data)
		}
		if cm.Data["SCRIPTSTATS_TIMEZONE"] != "Europe/Berlin" {
			t.Errorf("CronJob %s: the example's settings were lost by the merge", cj.Name)
		}
	}
	if cm := configMapOf(t, r, r.jobs[0].Spec.Template.Spec.Containers[0]); cm.Data["SCRIPTSTATS_CLICKHOUSE_CLUSTER"] != "analytics" {
		t.Error("migrate Job: without the cluster setting it would create single-server tables")
	}
}

func TestSettingsAreFlags(t *testing.T) {
	src := cliSource(t)
	seen := map[string]bool{}
	for _, dir := range []string{"base", "overlays/example", "overlays/example-schedule", "overlays/example-cluster"} {
		r := render(t, dir)
		for _, cm := range r.configMaps {
			for k := range cm.Data {
				seen[k] = true
			}
		}
		var pods []corev1.PodSpec
		for _, cj := range r.cronJobs {
			pods = append(pods, cj.Spec.JobTemplate.Spec.Template.Spec)
		}
		for _, j := range r.jobs {
			pods = append(pods, j.Spec.Template.Spec)
		}
		for _, d := range r.deployments {
			pods = append(pods, d.Spec.Template.Spec)
		}
		for _, p := range pods {
			for _, e := range p.Containers[0].Env {
				seen[e.Name] = true
			}
		}
	}
	envRE := regexp.MustCompile(`^SCRIPTSTATS_[A-Z0-9_]+$`)
	for name := range seen {
		if !strings.HasPrefix(name, "SCRIPTSTATS_") {
			continue
		}
		if !envRE.MatchString(name) {
			t.Errorf("%s: not a SCRIPTSTATS_* flag variable", name)
			continue
		}
		flagName := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, "SCRIPTSTATS_")), "_", "-")
		if !strings.Contains(src, `"`+flagName+`"`) {
			t.Errorf("%s: cmd/scriptstats has no flag --%s", name, flagName)
		}
	}
}

func cliSource(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob("../../cmd/scriptstats/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("cmd/scriptstats sources not found: %v", err)
	}
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

type objectRef struct{ kind, name, namespace string }

func (r *rendered) objects() []objectRef {
	var out []objectRef
	add := func(kind, name, ns string) { out = append(out, objectRef{kind, name, ns}) }
	for _, o := range r.cronJobs {
		add("CronJob", o.Name, o.Namespace)
	}
	for _, o := range r.jobs {
		add("Job", o.Name, o.Namespace)
	}
	for _, o := range r.deployments {
		add("Deployment", o.Name, o.Namespace)
	}
	for _, o := range r.configMaps {
		add("ConfigMap", o.Name, o.Namespace)
	}
	for _, o := range r.secrets {
		add("Secret", o.Name, o.Namespace)
	}
	for _, o := range r.services {
		add("Service", o.Name, o.Namespace)
	}
	for _, o := range r.accounts {
		add("ServiceAccount", o.Name, o.Namespace)
	}
	for _, o := range r.namespaces {
		add("Namespace", o.Name, o.Namespace)
	}
	return out
}
