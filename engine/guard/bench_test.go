package guard

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// logBlob returns about n bytes of mixed, realistic log lines (nginx access
// logs, JSON application logs, Kubernetes events, a Java stack trace, syslog),
// with a secret or a piece of personal data in about one line in fifty.
func logBlob(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	secrets := []string{
		"password=hunter2", "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543", awsKeyID,
		"user alice@example.com", "card 4242 4242 4242 4242", "postgres://app:s3cr3t@db:5432/orders", jwtIO, ghPAT,
		`"client_secret":"abc123"`, slackHook,
	}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		ts := fmt.Sprintf("2024-01-15T10:%02d:%02d.%06dZ", i/60%60, i%60, r.IntN(1000000))
		switch r.IntN(6) {
		case 0:
			fmt.Fprintf(&b, `10.0.%d.%d - - [15/Jan/2024:10:30:%02d +0000] "GET /api/v1/orders/%d?page=%d HTTP/1.1" %d %d "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36" rt=%.3f`+"\n",
				r.IntN(256), r.IntN(256), i%60, r.IntN(1e6), r.IntN(20), []int{200, 200, 200, 404, 500}[r.IntN(5)], r.IntN(50000), r.Float64())
		case 1:
			fmt.Fprintf(&b, `{"ts":"%s","level":"info","logger":"checkout.api","msg":"request completed","trace_id":"%032x","span_id":"%016x","method":"POST","path":"/cart/checkout","status":200,"duration_ms":%d,"user_id":%d}`+"\n",
				ts, r.Uint64(), r.Uint64(), r.IntN(900), r.IntN(1e6))
		case 2:
			fmt.Fprintf(&b, "%s Warning BackOff pod/checkout-7d9f8b6c5d-%05x Back-off restarting failed container checkout in pod checkout-7d9f8b6c5d_prod(%08x-e29b-41d4-a716-446655440000)\n", ts, r.IntN(1<<20), r.Uint32())
		case 3:
			b.WriteString("java.lang.IllegalStateException: connection pool exhausted (max=50, active=50, idle=0)\n\tat com.example.orders.db.Pool.acquire(Pool.java:142)\n\tat com.example.orders.Service.place(Service.java:88)\n")
		case 4:
			fmt.Fprintf(&b, "Jan 15 10:30:%02d ip-10-0-1-%d kernel: [%d.%06d] TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.\n", i%60, r.IntN(255), r.IntN(99999), r.IntN(999999))
		default:
			fmt.Fprintf(&b, "%s level=warn msg=\"slow query\" db=orders duration=%dms rows=%d query=\"SELECT id, total FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 50\"\n", ts, r.IntN(5000), r.IntN(100))
		}
		if r.IntN(50) == 0 {
			fmt.Fprintf(&b, "%s level=error msg=\"leaked in a log line\" detail=%q\n", ts, secrets[r.IntN(len(secrets))])
		}
	}
	return b.String()
}

func BenchmarkRedact(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		blob := logBlob(size)
		b.Run(fmt.Sprintf("logs_%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(blob)))
			b.ReportAllocs()
			for b.Loop() {
				Redact(blob)
			}
		})
	}
	clean := strings.Repeat("GET /healthz 200 0.001s kube-probe/1.29\n", (1<<20)/40)
	b.Run("clean_1MiB", func(b *testing.B) {
		b.SetBytes(int64(len(clean)))
		b.ReportAllocs()
		for b.Loop() {
			Redact(clean)
		}
	})
}

func BenchmarkRedactJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := 0; sb.Len() < 1<<20; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"id":%d,"user":"user%d@example.com","password":"p%d","note":"order %d shipped to 10.0.0.%d","tags":["a","b"],"ok":true}`, i, i, i, i, i%255)
	}
	sb.WriteString("]")
	raw := []byte(sb.String())
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		RedactJSON(raw)
	}
}

func BenchmarkFence(b *testing.B) {
	blob := logBlob(1 << 20)
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		Fence("tool:search_logs", "search_logs#3", blob)
	}
}

func BenchmarkDetectInjection(b *testing.B) {
	blob := logBlob(1 << 20)
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		DetectInjection(blob)
	}
}
