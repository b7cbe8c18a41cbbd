package tests

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/export"
	"github.com/tcplens/tcplens/internal/export/exporttest"
	"github.com/tcplens/tcplens/internal/pcap"
)

// python is Debian's interpreter, which has python3-distributed: another
// python3 may come first on PATH.
const python = "/usr/bin/python3"

// TestDaskCluster starts a real Dask cluster on loopback, as a user
// starts one (a scheduler and two worker processes, on free ports), runs
// scripts/dask-export.py on it over two capture points (one of them a
// capture rotated into three files, connections running across them),
// each split into three shards, and checks that the distributed export
// equals, row for row, what one tcplens export of each capture point
// writes, and that the rotated files came out as the unrotated capture
// does.
func TestDaskCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a Dask cluster")
	}
	if err := exec.Command(python, "-c", "import distributed").Run(); err != nil {
		skip(t, python+" cannot import distributed (Debian's python3-distributed): "+err.Error())
	}
	dependOn(t, "../internal", "../cmd", "../scripts", "../testdata/captures")
	tmp := t.TempDir()

	// tcplens as a worker runs it.
	bin := filepath.Join(tmp, "tcplens")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "../cmd/tcplens")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// Two capture points: edge1 holds a capture rotated into three files,
	// edge2 a capture of its own.
	const whole = "../testdata/captures/zeek-ssh-ssh.pcap.gz"
	edge1 := filepath.Join(tmp, "pcaps", "edge1")
	rotate(t, whole, edge1, 3)
	edge2 := filepath.Join(tmp, "pcaps", "edge2")
	if err := os.MkdirAll(edge2, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../testdata/captures/zeek-nmap-vsn.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(edge2, "vsn.pcap"), b, 0o644); err != nil {
		t.Fatal(err)
	}

	// The cluster.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	schedPort, dashPort := freePort(t), freePort(t)
	scheduler := fmt.Sprintf("tcp://127.0.0.1:%d", schedPort)
	start(ctx, t, "scheduler", python, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
		"--port", fmt.Sprint(schedPort), "--dashboard-address", fmt.Sprintf("127.0.0.1:%d", dashPort), "--no-show")
	waitListening(t, schedPort)
	for i := range 2 {
		start(ctx, t, fmt.Sprintf("worker%d", i+1), python, "-m", "distributed.cli.dask_worker", scheduler,
			"--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard", "--local-directory", filepath.Join(tmp, fmt.Sprintf("w%d", i+1)))
	}

	// The distributed export.
	dist := filepath.Join(tmp, "dist")
	began := time.Now()
	run := exec.CommandContext(ctx, python, "../scripts/dask-export.py", "--scheduler", scheduler, "--workers", "2",
		"--tcplens", bin, "--shards", "3", "--segments", "-o", dist, edge1, edge2)
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("dask-export.py: %v\n%s", err, out)
	}
	t.Logf("dask-export.py, 2 capture points x 3 shards on 2 workers, in %s:\n%s", time.Since(began).Round(time.Millisecond), out)

	// One tcplens export of each capture point.
	single := filepath.Join(tmp, "single")
	for _, point := range []string{edge1, edge2} {
		files, _ := filepath.Glob(filepath.Join(point, "*"))
		args := append([]string{"export", "--segments", "--sensor", filepath.Base(point), "-o", single}, files...)
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("tcplens %v: %v\n%s", args, err, out)
		}
	}
	want := exporttest.Read(t, single)
	if len(want.Connections) == 0 {
		t.Fatal("the single export wrote no connections")
	}
	if d := exporttest.Diff(exporttest.Read(t, dist), want); d != "" {
		t.Errorf("the distributed export differs from the single one:\n%s", d)
	}

	// The rotated files make the connections the unrotated capture makes.
	unrotated := filepath.Join(tmp, "unrotated")
	if out, err := exec.Command(bin, "export", "--sensor", "edge1", "-o", unrotated, whole).CombinedOutput(); err != nil {
		t.Fatalf("tcplens export: %v\n%s", err, out)
	}
	const table = "connections/sensor=edge1"
	got := withoutCapture(exporttest.Table[export.Connection](t, dist, table))
	wantWhole := withoutCapture(exporttest.Table[export.Connection](t, unrotated, table))
	if len(got) == 0 || !slices.Equal(got, wantWhole) {
		t.Errorf("the rotated capture's %d connections differ from the whole capture's %d", len(got), len(wantWhole))
	}
}

// withoutCapture is rows without their capture column (the files'
// names), sorted.
func withoutCapture(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		if j := strings.Index(r, `,"capture":"`); j >= 0 {
			r = r[:j]
		}
		out[i] = r
	}
	slices.Sort(out)
	return out
}

// rotate writes the frames of capture into n files of about equal
// length in dir, named as a capture tool rotates them, as pcapng.
func rotate(t *testing.T, capture, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(capture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var frames []pcap.Frame
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fr.Data = append([]byte(nil), fr.Data...)
		frames = append(frames, fr)
	}
	per := (len(frames) + n - 1) / n
	for i := range n {
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("rotated-%03d.pcapng", i)))
		if err != nil {
			t.Fatal(err)
		}
		w, err := pcap.NewNGWriter(out)
		if err != nil {
			t.Fatal(err)
		}
		iface := w.AddInterface("eth0", frames[0].Link, 65535)
		for j := i * per; j < min((i+1)*per, len(frames)); j++ {
			if err := w.WritePacket(iface, &frames[j]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d after 60 s", port)
}

// start runs a cluster process until the test ends, its output logged
// if the test fails.
func start(ctx context.Context, t *testing.T, name string, argv ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		<-done
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, log.String())
		}
	})
}
