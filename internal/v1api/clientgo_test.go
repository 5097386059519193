package v1api_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"kubelite/internal/testutil"
)

// process is a kubelite role started from the built binary.
type process struct {
	cmd  *exec.Cmd
	done chan error
}

func start(t *testing.T, bin, logPath string, args ...string) *process {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the process with SIGTERM (SIGKILL after 20 s); twice is fine.
func (p *process) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s: killed after 20 s", p.cmd.Path)
	}
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var out []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// podEvents records what a shared informer delivered.
type podEvents struct {
	mu     sync.Mutex
	events []string // "ADDED name", "UPDATED name phase", "DELETED name"
}

func (e *podEvents) add(s string) { e.mu.Lock(); e.events = append(e.events, s); e.mu.Unlock() }

func (e *podEvents) has(s string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.events {
		if strings.HasPrefix(x, s) {
			return true
		}
	}
	return false
}

// TestClientGo: a client-go program (typed clientset, shared informer
// factory) against a real kubelite master and a fake-runtime minion: it
// lists and watches pods and nodes, creates a pod and sees it Running,
// and keeps working across a master restart with no event lost.
func TestClientGo(t *testing.T) {
	testutil.SystemTest(t, "the kubelite binary, loopback ports")
	bin := testutil.KubeliteBinary(t)
	dir := t.TempDir()
	ports := freePorts(t, 4)
	api, etcd, peer, kubeletPort := ports[0], ports[1], ports[2], ports[3]
	dataDir := filepath.Join(dir, "data")
	masterArgs := []string{"master", "--config-dir=", "--etcd-embed", "--data-dir=" + dataDir, "--address=127.0.0.1",
		"--port=" + strconv.Itoa(api), "--etcd-addr=127.0.0.1:" + strconv.Itoa(etcd), "--etcd-peer-addr=127.0.0.1:" + strconv.Itoa(peer)}
	master := start(t, bin, filepath.Join(dir, "master.log"), masterArgs...)
	kubeconfig := filepath.Join(dataDir, "admin.kubeconfig")
	testutil.Eventually(t, 60*time.Second, func() bool { _, err := os.Stat(kubeconfig); return err == nil }, "admin.kubeconfig written")
	token, err := exec.Command(bin, "token", "--data-dir", dataDir).Output()
	if err != nil {
		t.Fatalf("kubelite token: %v", err)
	}
	start(t, bin, filepath.Join(dir, "minion.log"), "minion", "--config-dir=", "--master=127.0.0.1:"+strconv.Itoa(api),
		"--token="+strings.TrimSpace(string(token)), "--runtime=fake", "--proxy-mode=none", "--network=none",
		"--root-dir="+filepath.Join(dir, "root"), "--port="+strconv.Itoa(kubeletPort), "--hostname_override=m1")

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// client-go's typed clientset writes protobuf by default: leave it so.
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory := informers.NewSharedInformerFactory(cs, 0)
	var pods podEvents
	var nodesSeen sync.Map
	podInf := factory.Core().V1().Pods().Informer()
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { pods.add("ADDED " + o.(*corev1.Pod).Name) },
		UpdateFunc: func(_, o any) {
			p := o.(*corev1.Pod)
			pods.add(fmt.Sprintf("UPDATED %s %s", p.Name, p.Status.Phase))
		},
		DeleteFunc: func(o any) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			pods.add("DELETED " + o.(*corev1.Pod).Name)
		},
	}); err != nil {
		t.Fatal(err)
	}
	nodeInf := factory.Core().V1().Nodes().Informer()
	if _, err := nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { nodesSeen.Store(o.(*corev1.Node).Name, true) },
		UpdateFunc: func(_, o any) { nodesSeen.Store(o.(*corev1.Node).Name, true) },
	}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err
	}, "API answering")
	factory.Start(ctx.Done())
	defer func() { cancel(); factory.Shutdown() }() // Shutdown waits for the informers, which stop with ctx
	if !cache.WaitForCacheSync(ctx.Done(), podInf.HasSynced, nodeInf.HasSynced) {
		t.Fatal("informers did not sync")
	}
	testutil.Eventually(t, 60*time.Second, func() bool { _, ok := nodesSeen.Load("m1"); return ok }, "node m1 seen by the informer")

	newPod := func(name string) {
		t.Helper()
		_, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "cg"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", Command: []string{"sleep", "3600"}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	newPod("cg-1")
	testutil.Eventually(t, 60*time.Second, func() bool { return pods.has("UPDATED cg-1 Running") }, "cg-1 Running, seen by the informer")
	list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: "app in (cg)"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}

	// Restart the master on the same data dir and ports.
	master.stop(t)
	master = start(t, bin, filepath.Join(dir, "master2.log"), masterArgs...)
	testutil.Eventually(t, 60*time.Second, func() error {
		_, err := cs.CoreV1().Pods("default").Get(ctx, "cg-1", metav1.GetOptions{})
		return err
	}, "API back after the restart")
	newPod("cg-2")
	testutil.Eventually(t, 60*time.Second, func() bool { return pods.has("UPDATED cg-2 Running") }, "cg-2 Running after the restart")
	if err := cs.CoreV1().Pods("default").Delete(ctx, "cg-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() bool { return pods.has("DELETED cg-1") }, "cg-1's deletion seen")
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "cg-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get deleted pod: %v", err)
	}
	// The informer's cache is what the API holds.
	keys := podInf.GetStore().ListKeys()
	if len(keys) != 1 || keys[0] != "default/cg-2" {
		t.Fatalf("informer cache %v", keys)
	}
	_ = master
}
