package guard

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Sample credentials. All are published examples (AWS, GitHub, Slack and
// Stripe documentation, jwt.io, RFC 7516, payment test cards) or random
// strings generated for this file; none is live.
const (
	awsKeyID        = "AKIAIOSFODNN7EXAMPLE"                     // AWS IAM user guide
	awsSTSKeyID     = "ASIAY34FZKBOKMUTVV7A"                     // AWS STS documentation
	awsSecret       = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" // AWS IAM user guide
	awsSTSSecret    = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY" // AWS STS documentation
	ghPAT           = "ghp_16C7e42F292c6912E7710c838347Ae178B4a" // GitHub docs
	ghOAuth         = "gho_nsCGRlrwZbqcabUGJmGEp7CgQ0PBQFI14zGt"
	ghFineGrained   = "github_pat_11ABCDEFG0Wi0B26R08qzj_I6GKFSufrdZSlB5er8bOfZqfM2oeq3hDavJA76rNicHTp8hkqdlm7tOtHWx"
	slackBot        = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy" // Slack docs
	slackUser       = "xoxp-23984754863-2348975623103-8723459872-abcdef0123456789abcdef0123456789"
	slackApp        = "xapp-1-A0BTTOF7JYU-7249208682889-bofbcixgy29db8p5qa3e68f7e4qeqpno35ye4scmejvqtia4d5rgn5s7s333h9mt"
	slackHook       = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX" // Slack docs
	slackWorkflow   = "https://hooks.slack.com/workflows/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"
	openAIProject   = "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"
	openAILegacy    = "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"
	openAISvcAcct   = "sk-svcacct-i4PzJ59FHz5r1pY4OjE2jBMptUsGr7CmY_uCu3ZR1zTOlUcR64cXQLioDnkHIfxI"
	anthropicAPI    = "sk-ant-api03-u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzd-ocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtHAA"
	anthropicAdmin  = "sk-ant-admin01--R5Kjp1vRt_1fjORS-6ilI8ihN5KXSc7Tvo-hBKqFYY-kv5ZJr3J1TWDtkwtDDb_xHKas1VOqg6YYZYn9ZhyiA4uoRgnaAA"
	stripeTest      = "sk_test_4eC39HqLyjWDarjtT1zdp7dc" // Stripe docs
	stripeRestrict  = "rk_live_wlavyfErGPmpGXafq0fjzLcz"
	googleKey       = "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"
	googleKey2      = "AIzaBDRzrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNB"
	jwtIO           = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c" // jwt.io
	jwtNone         = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsInJvbGUiOiJvbmNhbGwifQ."
	jweRFC7516      = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ"
	rsaPrivateKey   = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm\no3qGy0t6z09AIJtH+5OeRV1be+N4cDYJKffGzDa88vQENZiRm0GRq6a+HPGQMd2k\nTQIhAKMSvzIBnni7ot/OSie2TmJLY4SwTQAevXysE2RbFDYdAiEBCUEaRQnMnbp7\n-----END RSA PRIVATE KEY-----"
	opensshKey      = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDzbWUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n-----END OPENSSH PRIVATE KEY-----"
	certificate     = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUYnVz\n-----END CERTIFICATE-----"
	base64ImageBlob = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

func ph(kind string) string { return Placeholder(kind) }

type redactCase struct {
	name  string
	in    string
	want  string
	kinds []string // kinds of the findings, in order
}

// redactCases hold at least two real-shaped samples of every kind.
var redactCases = []redactCase{
	// private-key
	{"rsa pem", "key:\n" + rsaPrivateKey + "\nloaded", "key:\n" + ph(KindPrivateKey) + "\nloaded", []string{KindPrivateKey}},
	{"openssh pem", "id_ed25519 " + opensshKey, "id_ed25519 " + ph(KindPrivateKey), []string{KindPrivateKey}},
	{"pem in json string without END (truncated log line)",
		`{"key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCy1yG25m\n8h1Jmd9m15g","truncated":true}`,
		`{"key":"` + ph(KindPrivateKey) + `","truncated":true}`, []string{KindPrivateKey}},
	{"pem in json string with END",
		`{"private_key":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oaUEvNw16s7ooAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n","id":"k1"}`,
		// The password rule's match (the whole quoted value, \n included) is
		// longer than the private-key block, so it names the finding.
		`{"private_key":"` + ph(KindPassword) + `","id":"k1"}`, []string{KindPassword}},

	// aws-access-key
	{"aws key id", "aws_access_key_id = " + awsKeyID, "aws_access_key_id = " + ph(KindAWSAccessKey), []string{KindAWSAccessKey}},
	{"aws sts key id", `{"AccessKeyId":"` + awsSTSKeyID + `","Expiration":"2024-01-15T11:30:00Z"}`,
		`{"AccessKeyId":"` + ph(KindAWSAccessKey) + `","Expiration":"2024-01-15T11:30:00Z"}`, []string{KindAWSAccessKey}},
	{"aws key id in sigv4 header", "Authorization: AWS4-HMAC-SHA256 Credential=" + awsKeyID + "/20240115/us-east-1/s3/aws4_request",
		"Authorization: AWS4-HMAC-SHA256 Credential=" + ph(KindAWSAccessKey) + "/20240115/us-east-1/s3/aws4_request", []string{KindAWSAccessKey}},

	// aws-secret-key
	{"aws credentials file", "[default]\naws_access_key_id = " + awsKeyID + "\naws_secret_access_key = " + awsSecret + "\n",
		"[default]\naws_access_key_id = " + ph(KindAWSAccessKey) + "\naws_secret_access_key = " + ph(KindAWSSecretKey) + "\n",
		[]string{KindAWSAccessKey, KindAWSSecretKey}},
	{"sts json", `"SecretAccessKey": "` + awsSTSSecret + `"`, `"SecretAccessKey": "` + ph(KindAWSSecretKey) + `"`, []string{KindAWSSecretKey}},
	{"aws secret label with spaces", "AWS Secret Access Key: " + awsSecret, "AWS Secret Access Key: " + ph(KindAWSSecretKey), []string{KindAWSSecretKey}},
	{"sts xml", "<SecretAccessKey>" + awsSTSSecret + "</SecretAccessKey>", "<SecretAccessKey>" + ph(KindAWSSecretKey) + "</SecretAccessKey>", []string{KindAWSSecretKey}},

	// github-token
	{"github pat in env", "GITHUB_TOKEN=" + ghPAT, "GITHUB_TOKEN=" + ph(KindGitHubToken), []string{KindGitHubToken}},
	{"github oauth in clone url", "git clone https://x-access-token:" + ghOAuth + "@github.com/org/repo.git",
		"git clone https://x-access-token:" + ph(KindGitHubToken) + "@github.com/org/repo.git", []string{KindGitHubToken}},
	{"github fine-grained pat", "using " + ghFineGrained + " for api", "using " + ph(KindGitHubToken) + " for api", []string{KindGitHubToken}},

	// slack-webhook
	{"slack webhook", "POST " + slackHook + " 200", "POST " + ph(KindSlackWebhook) + " 200", []string{KindSlackWebhook}},
	{"slack workflow webhook", `{"url":"` + slackWorkflow + `"}`, `{"url":"` + ph(KindSlackWebhook) + `"}`, []string{KindSlackWebhook}},

	// slack-token
	{"slack bot token", "slack client token " + slackBot + " rejected", "slack client token " + ph(KindSlackToken) + " rejected", []string{KindSlackToken}},
	{"slack user token", "xoxp: " + slackUser, "xoxp: " + ph(KindSlackToken), []string{KindSlackToken}},
	{"slack app token in env", "SLACK_APP_TOKEN=" + slackApp, "SLACK_APP_TOKEN=" + ph(KindSlackToken), []string{KindSlackToken}},

	// openai-key
	{"openai project key", "OPENAI_API_KEY=" + openAIProject, "OPENAI_API_KEY=" + ph(KindOpenAIKey), []string{KindOpenAIKey}},
	{"openai legacy key", "client init with " + openAILegacy, "client init with " + ph(KindOpenAIKey), []string{KindOpenAIKey}},
	{"openai service account key", "key=" + openAISvcAcct + ";", "key=" + ph(KindOpenAIKey) + ";", []string{KindOpenAIKey}},

	// anthropic-key
	{"anthropic key header", "x-api-key: " + anthropicAPI, "x-api-key: " + ph(KindAnthropicKey), []string{KindAnthropicKey}},
	{"anthropic admin key", `"` + anthropicAdmin + `"`, `"` + ph(KindAnthropicKey) + `"`, []string{KindAnthropicKey}},

	// stripe-key
	{"stripe test key", "stripe.api_key = '" + stripeTest + "'", "stripe.api_key = '" + ph(KindStripeKey) + "'", []string{KindStripeKey}},
	{"stripe restricted key", "using " + stripeRestrict, "using " + ph(KindStripeKey), []string{KindStripeKey}},

	// google-api-key
	{"google key in url", "GET https://maps.googleapis.com/maps/api/geocode/json?address=x&key=" + googleKey + " 200",
		"GET https://maps.googleapis.com/maps/api/geocode/json?address=x&key=" + ph(KindGoogleAPIKey) + " 200", []string{KindGoogleAPIKey}},
	{"google key in yaml", "apiKey: " + googleKey2, "apiKey: " + ph(KindGoogleAPIKey), []string{KindGoogleAPIKey}},

	// jwt
	{"jwt.io sample", "id_token=" + jwtIO, "id_token=" + ph(KindJWT), []string{KindJWT}},
	{"bearer jwt", "Authorization: Bearer " + jwtIO, "Authorization: Bearer " + ph(KindJWT), []string{KindJWT}},
	{"unsigned jwt at sentence end", "got " + jwtNone + " from client", "got " + ph(KindJWT) + " from client", []string{KindJWT}},
	{"jwe", "enc=" + jweRFC7516 + ".", "enc=" + ph(KindJWT) + ".", []string{KindJWT}},

	// password-in-url
	{"postgres url", "dsn=postgres://app:s3cr3t@db.internal:5432/orders?sslmode=require",
		"dsn=postgres://app:" + ph(KindPasswordInURL) + "@db.internal:5432/orders?sslmode=require", []string{KindPasswordInURL}},
	{"redis url without user", "REDIS_URL=redis://:hunter2@cache:6379/0", "REDIS_URL=redis://:" + ph(KindPasswordInURL) + "@cache:6379/0", []string{KindPasswordInURL}},
	{"password with @ and :", `"amqp://guest:p@ss:w0rd@rabbit.svc:5672"`, `"amqp://guest:` + ph(KindPasswordInURL) + `@rabbit.svc:5672"`, []string{KindPasswordInURL}},

	// bearer-token
	{"bearer header", "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543",
		"Authorization: Bearer " + ph(KindBearerToken), []string{KindBearerToken}},
	{"curl token scheme", `curl -H "authorization: token 0123456789abcdef0123" https://api.example.com`,
		`curl -H "authorization: ` + "token " + ph(KindBearerToken) + `" https://api.example.com`, []string{KindBearerToken}},
	{"bearer in prose", "retrying with bearer a1b2c3d4e5f6 after 401", "retrying with bearer " + ph(KindBearerToken) + " after 401", []string{KindBearerToken}},

	// basic-auth
	{"basic auth header", "Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic " + ph(KindBasicAuth), []string{KindBasicAuth}},
	{"basic auth in json headers", `{"Authorization":"Basic YWRtaW46YWRtaW4="}`, `{"Authorization":"Basic ` + ph(KindBasicAuth) + `"}`, []string{KindBasicAuth}},

	// password
	{"logfmt password", "level=warn msg=\"login failed\" user=bob password=hunter2 attempt=3",
		"level=warn msg=\"login failed\" user=bob password=" + ph(KindPassword) + " attempt=3", []string{KindPassword}},
	{"json client_secret", `{"client_id":"nightshift","client_secret":"abc123"}`,
		`{"client_id":"nightshift","client_secret":"` + ph(KindPassword) + `"}`, []string{KindPassword}},
	{"yaml quoted value with spaces", `DB_PASSWORD: "correct horse battery staple"`, `DB_PASSWORD: "` + ph(KindPassword) + `"`, []string{KindPassword}},
	{"query string", "GET /callback?code=x&access_token=ya29a0AfH6SMB&state=1", "GET /callback?code=x&access_token=" + ph(KindPassword) + "&state=1", []string{KindPassword}},
	{"cli flag", "exec mysql --user=root --password s3cret --host db", "exec mysql --user=root --password " + ph(KindPassword) + " --host db", []string{KindPassword}},
	{"xml element", "<user>bob</user><password>hunter2</password>", "<user>bob</user><password>" + ph(KindPassword) + "</password>", []string{KindPassword}},
	{"escaped json inside json", `{"msg":"{\"user\":\"bob\",\"password\":\"hun\\\"ter2\"}"}`,
		`{"msg":"{\"user\":\"bob\",\"password\":\"` + ph(KindPassword) + `\"}"}`, []string{KindPassword}},
	{"env dump", "PGPASSWORD=pg-pass-1 MYSQL_PWD=my!pwd apiKey=k3y-123 secret=s3cr3t token: 4f9a77c0",
		"PGPASSWORD=" + ph(KindPassword) + " MYSQL_PWD=" + ph(KindPassword) + " apiKey=" + ph(KindPassword) +
			" secret=" + ph(KindPassword) + " token: " + ph(KindPassword),
		[]string{KindPassword, KindPassword, KindPassword, KindPassword, KindPassword}},
	{"weak word with a generated value", "token: v2", "token: " + ph(KindPassword), []string{KindPassword}},
	{"odbc connection string", "Server=db;Uid=sa;Pwd=Passw0rd!;Database=orders", "Server=db;Uid=sa;Pwd=" + ph(KindPassword) + ";Database=orders", []string{KindPassword}},
	{"json number under secret key", `{"pin_password": 4242}`, `{"pin_password": ` + ph(KindPassword) + `}`, []string{KindPassword}},

	// card-number
	{"visa with spaces", "card 4242 4242 4242 4242 declined", "card " + ph(KindCardNumber) + " declined", []string{KindCardNumber}},
	{"amex unbroken", `{"pan":"378282246310005"}`, `{"pan":"` + ph(KindCardNumber) + `"}`, []string{KindCardNumber}},
	{"mastercard with dashes", "cc=5555-5555-5555-4444,", "cc=" + ph(KindCardNumber) + ",", []string{KindCardNumber}},
	{"discover and jcb", "6011111111111117 / 3530111333300000", ph(KindCardNumber) + " / " + ph(KindCardNumber), []string{KindCardNumber, KindCardNumber}},
	{"mastercard 2-series after a date", "2024-01-15 2223003122003222", "2024-01-15 " + ph(KindCardNumber), []string{KindCardNumber}},
	{"amex 4-6-5", "3782 822463 10005.", ph(KindCardNumber) + ".", []string{KindCardNumber}},

	// email
	{"email", "user alice@example.com logged in", "user " + ph(KindEmail) + " logged in", []string{KindEmail}},
	{"email with plus and subdomains", "<Bob.Smith+alerts@corp.example.co.uk>", "<" + ph(KindEmail) + ">", []string{KindEmail}},
	{"mailto and url path", "mailto:oncall@example.org https://example.com/users/carol@example.net/edit",
		"mailto:" + ph(KindEmail) + " https://example.com/users/" + ph(KindEmail) + "/edit", []string{KindEmail, KindEmail}},

	// several kinds and overlaps
	{"password value is a github token", "password=" + ghPAT, "password=" + ph(KindGitHubToken), []string{KindGitHubToken}},
	{"email that holds a card number's tail", "4242 4242 4242 4242.x@example.com", ph(KindCardNumber), []string{KindCardNumber}},
	{"url with email user and password", "smtp://alice@example.com:pw0rd@mail.example.com:587",
		"smtp://alice@example.com:" + ph(KindPasswordInURL) + "@mail.example.com:587", []string{KindPasswordInURL}},
}

// nearMisses must come out of Redact unchanged.
var nearMisses = []struct{ name, in string }{
	{"order id failing luhn", "order 4242424242424241 shipped"},
	{"16-digit id after an id key passes luhn", "trace_id=4242424242424242 span_id=4000056655665556 \"orderId\": 4242424242424242"},
	{"decimal", "ratio=0.4242424242424242 p=3.378282246310005"},
	{"phone number", "call +4242424242424242"},
	{"number glued to letters", "inv4242424242424242 4242424242424242abc"},
	{"timestamps", "2024-01-15T10:30:00.123456789Z 1705314600123 1705314600123456789 Jan 15 10:30:00"},
	{"git sha", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (HEAD -> main)"},
	{"uuid", "request_id=550e8400-e29b-41d4-a716-446655440000 trace=4bf92f3577b34da6a3ce929d0e0e4736"},
	{"kubernetes pod names", "pod checkout-7d9f8b6c5d-x2x4z restarted; sk-worker-7d9f8b6c5-x2x4z OOMKilled"},
	{"arn with account id", "arn:aws:iam::123456789012:role/nightshift-readonly assumed"},
	{"ip addresses and ports", "connect to 10.0.12.7:5432 from 192.168.1.20 via [2001:db8::1]:443"},
	{"password without value", "password reset requested for user 42; Password: ; password_hash updated; passwordless login"},
	{"token expired", "token expired; token: expired; invalid token: signature mismatch; max_tokens=1024 prompt_tokens=512"},
	{"k8s secret event", `MountVolume.SetUp failed for volume "db-secret" : secret "db-secret" not found`},
	{"secret and key names", "secret_name=db-creds secretRef: db-creds cache_key=user:42 sort key: created_at ssh_key: /home/app/.ssh/id_rsa.pub"},
	{"placeholders and templates", "PWD=/home/app password=${DB_PASSWORD} token=*** secret: <secret> auth: enabled passwd=$PGPASS api_key: \"\""},
	{"helm template", "password: {{ .Values.db.password }} token: expired auth: oidc-prod"},
	{"base64 image fragment", base64ImageBlob},
	{"email-like without tld", "user@localhost root@10.0.0.1 admin@db-1"},
	{"scp remote and asset", "git@github.com:nightshift-ops/nightshift.git icon@2x.png ssh deploy@bastion.example.com:2222"},
	{"versions", "nginx/1.25.3 go1.26.8 v2.14.0-rc.1 lodash@4.17.21 image@sha256:9f86d081884c7d65"},
	{"durations", "took 1h2m3.456s (p99 250ms, max 12.5s) after 3 retries"},
	{"urls without password", "https://example.com:8443/path?q=1 https://alice@bitbucket.org/team/repo.git redis://cache:6379"},
	{"bearer without token", "Bearer authentication failed: no bearer token; WWW-Authenticate: Bearer realm=\"api\""},
	{"certificate", certificate},
	{"aws-looking but too long", "AKIAIOSFODNN7EXAMPLEX and xAKIAIOSFODNN7EXAMPLE"},
	{"sentence with sk-", "disk-usage task-runner sk-learn"},
	{"placeholder already", "password=[REDACTED:password] user=[REDACTED:email] x"},
}

func TestRedact(t *testing.T) {
	for _, c := range redactCases {
		t.Run(c.name, func(t *testing.T) {
			got, found := Redact(c.in)
			if diff := cmp.Diff(got, c.want); diff != "" {
				t.Errorf("Redact(%q) (-got +want):\n%s", c.in, diff)
			}
			var kinds []string
			for _, f := range found {
				kinds = append(kinds, f.Kind)
			}
			if c.kinds != nil {
				if diff := cmp.Diff(kinds, c.kinds); diff != "" {
					t.Errorf("kinds (-got +want):\n%s", diff)
				}
			}
			checkFindings(t, c.in, got, found)
			if again, more := Redact(got); again != got || len(more) > 0 {
				t.Errorf("not idempotent: Redact(%q) = %q, %v", got, again, more)
			}
		})
	}
}

func TestRedactNearMisses(t *testing.T) {
	for _, c := range nearMisses {
		t.Run(c.name, func(t *testing.T) {
			got, found := Redact(c.in)
			if got != c.in || len(found) > 0 {
				t.Errorf("Redact(%q) = %q, %v; want it unchanged", c.in, got, found)
			}
		})
	}
}

// checkFindings verifies that found describes exactly how out was made from
// in: ordered, disjoint spans, each replaced by its placeholder.
func checkFindings(t *testing.T, in, out string, found []Finding) {
	t.Helper()
	var b strings.Builder
	last := 0
	for _, f := range found {
		if f.Start < last || f.End <= f.Start || f.End > len(in) {
			t.Fatalf("bad finding %+v after %d in %d bytes", f, last, len(in))
		}
		b.WriteString(in[last:f.Start])
		b.WriteString(Placeholder(f.Kind))
		last = f.End
	}
	b.WriteString(in[last:])
	if b.String() != out {
		t.Fatalf("findings %v do not rebuild the output:\n got %q\nwant %q", found, b.String(), out)
	}
}

func TestRedactKeepsText(t *testing.T) {
	in := "héllo wörld\x00\xff " + awsKeyID + " ünïcode ✓"
	got, _ := Redact(in)
	want := "héllo wörld\x00\xff " + ph(KindAWSAccessKey) + " ünïcode ✓"
	if got != want {
		t.Errorf("Redact(%q) = %q, want %q", in, got, want)
	}
	if got, found := Redact(""); got != "" || found != nil {
		t.Errorf("Redact(\"\") = %q, %v", got, found)
	}
}

func TestIsSecretKeyName(t *testing.T) {
	secret := []string{"password", "Password", "db_password", "DB_PASSWORD", "dbPassword", "pgpassword", "passwd", "pwd",
		"MYSQL_PWD", "secret", "client_secret", "clientSecret", "token", "access_token", "accessToken", "csrftoken",
		"auth", "basicAuth", "x-auth", "api_key", "apiKey", "API-KEY", "x-api-key", "apikey", "private_key",
		"secret_access_key", "SecretAccessKey", "Ocp-Apim-Subscription-Key", "Authorization", "Cookie", "Set-Cookie",
		"passphrase"}
	plain := []string{"user", "password_hash", "passwordless", "secret_name", "secretName", "token_type", "max_tokens",
		"tokens", "oauth", "author", "authority", "key", "cache_key", "sort_key", "monkey", "ssh_key", "id", "pwd_dir",
		"access_key_id", "tokenizer"}
	for _, k := range secret {
		if !isSecretKeyName(k) {
			t.Errorf("isSecretKeyName(%q) = false, want true", k)
		}
	}
	for _, k := range plain {
		if isSecretKeyName(k) {
			t.Errorf("isSecretKeyName(%q) = true, want false", k)
		}
	}
}

func TestLuhnAndBrand(t *testing.T) {
	for _, c := range []struct {
		digits string
		card   bool
	}{
		{"4242424242424242", true},
		{"4000056655665556", true},
		{"378282246310005", true},
		{"371449635398431", true},
		{"5555555555554444", true},
		{"2223003122003222", true},
		{"6011111111111117", true},
		{"3530111333300000", true},
		{"30569309025904", true},
		{"4242424242424241", false}, // Luhn
		{"1234567812345670", false}, // passes Luhn, no brand starts with 1
		{"378282246310005000", false},
		{"4222222222222", true}, // 13-digit Visa
	} {
		d := []byte(c.digits)
		if got := cardBrand(d) && luhn(d); got != c.card {
			t.Errorf("%s: card = %v, want %v", c.digits, got, c.card)
		}
	}
}

// TestRedactJoinedSamples glues samples together with the characters that
// sit at the edges of rules, where one rule's match can change another's
// boundaries, and checks that redaction stays idempotent and consistent.
func TestRedactJoinedSamples(t *testing.T) {
	var parts []string
	for _, c := range redactCases {
		parts = append(parts, c.in)
	}
	for _, c := range nearMisses {
		parts = append(parts, c.in)
	}
	parts = append(parts, "4242", "0", "a", "x@", "@example.com", "password=", "token:", "Bearer", "https://u:", "--token")
	joiners := []string{"", " ", ".", "@", ":", "=", "-", "_", "/", "\"", "\\"}
	n := 0
	for _, a := range parts {
		for _, b := range parts {
			for _, j := range joiners {
				in := a + j + b
				out, found := Redact(in)
				checkFindings(t, in, out, found)
				if again, more := Redact(out); again != out || len(more) > 0 {
					t.Fatalf("not idempotent:\n  in  %q\n  out %q\n  out2 %q", in, out, again)
				}
				n++
			}
		}
	}
	t.Logf("%d joined samples", n)
}

func TestASCIILower(t *testing.T) {
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	for _, in := range []string{"", "abc", "ABC", "Hello, WORLD! ÀÉÎ İ straße @[`{", string(all), string(all[60:]) + "Z"} {
		got := asciiLower(in)
		want := []byte(in)
		for i, c := range want {
			if 'A' <= c && c <= 'Z' {
				want[i] = c + 'a' - 'A'
			}
		}
		if got != string(want) {
			t.Errorf("asciiLower(%q) = %q, want %q", in, got, want)
		}
	}
}
