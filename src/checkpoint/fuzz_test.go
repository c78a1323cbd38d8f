package checkpoint

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzDecodeRecord checks that the record decoder never panics and that every record it accepts survives
// an encode/decode round trip unchanged.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(nil, "m365_defender_incidents://prod", "cursor", fixedNow, []byte(`{"time":"2026-12-04T00:00:00Z"}`)))
	f.Add(encodeRecord(nil, "", "", time.Time{}, []byte(`null`)))
	f.Add([]byte(`{"version":1,"namespace":"n","key":"k","saved":"2026-12-04T15:04:05+05:00","data":[1,"a",{"b":null}]}`))
	f.Add([]byte(`{"version":1,"namespace":"n\u0000","key":"\ud800","data":"x"}`))
	f.Add([]byte(`{"version":2,"data":{}}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1e0,"data":0}`))
	f.Add([]byte(`{"version":1,"data":1,"data":2}`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if err != nil {
			return
		}
		if rec.Version != recordVersion || len(rec.Data) == 0 || !json.Valid(rec.Data) {
			t.Fatalf("accepted a bad record: %+v", rec)
		}
		again := encodeRecord(nil, rec.Namespace, rec.Key, rec.Saved, rec.Data)
		rec2, err := decodeRecord(again)
		if err != nil {
			t.Fatalf("re-encoded record %q does not decode: %v", again, err)
		}
		if rec2.Namespace != rec.Namespace || rec2.Key != rec.Key || !rec2.Saved.Equal(rec.Saved) {
			t.Fatalf("round trip changed the envelope: %+v -> %+v", rec, rec2)
		}
		var c1, c2 bytes.Buffer
		if json.Compact(&c1, rec.Data) != nil || json.Compact(&c2, rec2.Data) != nil || !bytes.Equal(c1.Bytes(), c2.Bytes()) {
			t.Fatalf("round trip changed the data: %s -> %s", rec.Data, rec2.Data)
		}
	})
}
