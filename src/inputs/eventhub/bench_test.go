package eventhub

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ta-m365-defender/ta-m365-defender/src/modinput"
)

// benchBody is one Event Hub message of n records in a realistic mix of
// Defender tables and sizes.
func benchBody(n int) []byte {
	kinds := []string{
		`{"time":"2024-05-01T10:00:01.1234567Z","tenantId":"0c6e3c8a-1b2f-4f6c-9a1e-4a0f7c1d2e3f","operationName":"Publish","category":"AdvancedHunting-DeviceProcessEvents","_TimeReceivedBySvc":"2024-05-01T09:59:59.0000000Z","properties":{"AccountDomain":"contoso","AccountName":"alice","AccountSid":"S-1-5-21-1-2-3-1001","ActionType":"ProcessCreated","DeviceId":"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678","DeviceName":"ws-0042.contoso.com","FileName":"powershell.exe","FolderPath":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","InitiatingProcessCommandLine":"\"explorer.exe\"","InitiatingProcessFileName":"explorer.exe","MD5":"7353f60b1739074eb17c5f4dddefe239","ProcessCommandLine":"powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Users\\alice\\AppData\\Local\\Temp\\run.ps1","ProcessId":4242,"ReportId":98765,"SHA1":"6cbce4a295c163791b60fc23d285e6d84f28ee4c","SHA256":"de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c","Timestamp":"2024-05-01T09:59:58.7654321Z"},"Tenant":"DefaultTenant"}`,
		`{"time":"2024-05-01T10:00:02.0000000Z","tenantId":"0c6e3c8a-1b2f-4f6c-9a1e-4a0f7c1d2e3f","operationName":"Publish","category":"AdvancedHunting-DeviceNetworkEvents","properties":{"ActionType":"ConnectionSuccess","DeviceName":"srv-db-01.contoso.com","LocalIP":"10.1.2.3","LocalPort":51515,"Protocol":"Tcp","RemoteIP":"203.0.113.7","RemotePort":443,"RemoteUrl":"update.example.net","InitiatingProcessFileName":"svchost.exe","Timestamp":"2024-05-01T09:59:59.1000000Z"},"Tenant":"DefaultTenant"}`,
		`{"time":"2024-05-01T10:00:03.0000000Z","tenantId":"0c6e3c8a-1b2f-4f6c-9a1e-4a0f7c1d2e3f","operationName":"Publish","category":"AdvancedHunting-EmailEvents","properties":{"NetworkMessageId":"4c0e5f2a-1111-2222-3333-444455556666","InternetMessageId":"<CAB123@mail.example.com>","SenderFromAddress":"billing@example.net","RecipientEmailAddress":"bob@contoso.com","Subject":"Invoice overdue","DeliveryAction":"Delivered","DeliveryLocation":"Inbox/folder","ThreatTypes":"Phish","AuthenticationDetails":"{\"SPF\":\"fail\",\"DKIM\":\"none\",\"DMARC\":\"fail\"}","Timestamp":"2024-05-01T10:00:00.0000000Z"}}`,
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = kinds[i%len(kinds)]
	}
	return []byte(`{"records":[` + strings.Join(parts, ",") + `]}`)
}

// BenchmarkRecordPath measures the whole record path of one message (split
// the body, find each record's time, write XML events) against a plain
// bufio.Writer.Write of the same record bytes, the engine's baseline.
func BenchmarkRecordPath(b *testing.B) {
	body := benchBody(100)
	records, _ := splitRecords(nil, body)
	b.Run("baseline_bufio", func(b *testing.B) {
		w := bufio.NewWriterSize(io.Discard, modinput.BufferSize)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range records {
				w.Write(r)
			}
		}
		w.Flush()
	})
	b.Run("split_time_write", func(b *testing.B) {
		w := modinput.NewEventWriter(io.Discard)
		tmpl := modinput.Event{Stanza: "m365_defender_eventhub://prod", Source: "m365_defender_eventhub:defender", Sourcetype: DefaultSourcetype, Unbroken: true, Done: true}
		var recs [][]byte
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var ok bool
			recs, ok = splitRecords(recs[:0], body)
			if !ok {
				b.Fatal("not an envelope")
			}
			for _, r := range recs {
				e := tmpl
				e.Data = r
				e.Time = recordTime(r)
				if err := w.Write(&e); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

var sink time.Time

func BenchmarkRecordTime(b *testing.B) {
	recs, _ := splitRecords(nil, benchBody(3))
	for i, r := range recs {
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = recordTime(r)
			}
		})
	}
}
