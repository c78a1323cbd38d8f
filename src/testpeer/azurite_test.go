package testpeer

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

func TestAzuriteConnectionString(t *testing.T) {
	az := StartAzurite(t)
	if !strings.HasPrefix(az.BlobURL(), "http://127.0.0.1:") || !strings.HasSuffix(az.BlobURL(), "/"+AzuriteAccount) {
		t.Fatalf("BlobURL = %q", az.BlobURL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateContainer(ctx, "peer-check", nil); err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if _, err := c.UploadBuffer(ctx, "peer-check", "a/b.json", []byte("{}\r\n"), nil); err != nil {
		t.Fatalf("UploadBuffer: %v", err)
	}
	pager := c.NewListBlobsFlatPager("peer-check", nil)
	page, err := pager.NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Segment.BlobItems) != 1 || *page.Segment.BlobItems[0].Name != "a/b.json" {
		t.Fatalf("listing: %+v", page.Segment.BlobItems)
	}
}

// TestAzuriteDiesWithTestProcess runs a helper process that starts Azurite,
// kills the helper with SIGKILL (no cleanup runs) and expects node to exit
// because its stdin pipe closed.
func TestAzuriteDiesWithTestProcess(t *testing.T) {
	if os.Getenv("TESTPEER_AZURITE_HELPER") == "1" {
		az := StartAzurite(t)
		fmt.Printf("AZURITE_PID=%d\n", az.PID())
		time.Sleep(time.Minute) // killed by the parent long before
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAzuriteDiesWithTestProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "TESTPEER_AZURITE_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "AZURITE_PID="); ok {
			pid, _ = strconv.Atoi(v)
			break
		}
	}
	if pid == 0 {
		t.Fatal("helper did not report Azurite's pid")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return // gone
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("Azurite (pid %d) still running 10 s after the test process was killed", pid)
}
