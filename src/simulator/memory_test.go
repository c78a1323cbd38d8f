package simulator

import (
	"runtime"
	"testing"
)

// TestHeldMemory: 20,000 incidents with their alerts stay small (compact
// state, rendered on demand).
func TestHeldMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := newServer(Options{Incidents: 20000, AlertsPerIncident: 2, Seed: 1})
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	t.Logf("20000 incidents, %d alerts: %.1f MiB held", len(s.st.d.alerts), held)
	if held > 48 {
		t.Errorf("%.1f MiB held for 20000 incidents, want under 48", held)
	}
	runtime.KeepAlive(s)
}
