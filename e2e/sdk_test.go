package e2e

// Code written against an AWS SDK reads through the extension with nothing
// changed but two variables: boto3, the AWS SDK for JavaScript v3, the AWS
// SDK for Go v2 and the AWS CLI v2 each run one scenario against the real
// binary, moto behind it.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/starfleet/starfleet-secrets/upstream/upstreamtest"
)

// sdkCall is one call a runner makes; auth "" signs with the function's
// credentials, "unsigned" sends no signature, "other" signs with keys the
// extension does not hold.
type sdkCall struct {
	Service string         `json:"service"` // secretsmanager or ssm
	Op      string         `json:"op"`
	Params  map[string]any `json:"params"`
	Auth    string         `json:"auth,omitempty"`
}

// sdkAnswer is what the call answered: the SDK's output as JSON (binary
// as base64), or the error code, the SDK's exception class and status.
type sdkAnswer struct {
	OK     map[string]any `json:"ok"`
	Error  string         `json:"error"`
	Class  string         `json:"class"`
	Status int            `json:"status"`
}

// sdkRunner makes calls with one SDK.
type sdkRunner func(t *testing.T, call sdkCall) sdkAnswer

// sdks start each SDK's runner against an extension at base, with env
// the function's environment.
var sdks = []struct {
	name  string
	start func(t *testing.T, env []string, base string) sdkRunner
	// lacks are operations the SDK at hand has no call for.
	lacks map[string]bool
}{
	{"boto3", func(t *testing.T, env []string, _ string) sdkRunner {
		return streamRunner(t, env, "python3", filepath.Join("testdata", "sdk", "runner.py"))
	}, nil},
	{"js-v3", func(t *testing.T, env []string, _ string) sdkRunner {
		return streamRunner(t, env, "node", filepath.Join("testdata", "sdk", "runner.mjs"))
	}, nil},
	{"go-v2", func(t *testing.T, env []string, _ string) sdkRunner {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		return streamRunner(t, append(env, goRunnerVariable+"=1"), exe)
	}, nil},
	// BatchGetSecretValue came in CLI 2.13, after Debian's 2.9.
	{"cli-v2", cliRunner, map[string]bool{"BatchGetSecretValue": true}},
}

// sdkEnv is what a function's SDK reads: its credentials (the
// extension's), its region, and the two endpoint variables.
func (in *instance) sdkEnv() []string {
	return cleanEnv(
		"AWS_ACCESS_KEY_ID="+upstreamtest.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+upstreamtest.SecretAccessKey,
		"AWS_SESSION_TOKEN="+in.token,
		"AWS_REGION="+upstreamtest.Region,
		"AWS_DEFAULT_REGION="+upstreamtest.Region,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=",
		"AWS_ENDPOINT_URL_STS=",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+in.base,
		"AWS_ENDPOINT_URL_SSM="+in.base,
	)
}

func TestSDKsReadThroughTheExtension(t *testing.T) {
	resetMoto(t, starfleetSecret)
	for _, sdk := range sdks {
		t.Run(sdk.name, func(t *testing.T) {
			// Each SDK has its own extensions, proxies and names, so they
			// run at once; nothing else resets moto meanwhile.
			t.Parallel()
			p := strings.ReplaceAll(sdk.name, "-", "") // names of this SDK's own secrets and parameters
			seedSDKScenario(t, p)
			// The runtime, and so the function's code, starts only once
			// every extension has registered: the SDK calls wait for that.
			in := start(t, asFunctionWithSDKEndpoints())
			in.waitInit()
			call := sdk.start(t, in.sdkEnv(), in.base)
			checkReads(t, call, in, p, sdk.lacks)
			checkRefusals(t, call)
			checkWrites(t, call, in, p)

			// A rotation reaches the function within one TTL.
			fast := start(t, asFunctionWithSDKEndpoints(), withEnv("STARFLEET_SECRETS_TTL=1s"))
			fast.waitInit()
			callFast := sdk.start(t, fast.sdkEnv(), fast.base)
			checkRotation(t, callFast, p)

			for _, line := range []string{`"variable":"AWS_ENDPOINT_URL_SECRETS_MANAGER"`, `"variable":"AWS_ENDPOINT_URL_SSM"`} {
				if !strings.Contains(in.output.String(), line) {
					t.Errorf("the start-up log does not say the endpoint variable pointing at the extension was ignored (%s)", line)
				}
			}
			assertNoLeak(t, in, []string{"pw-0-", "pw-1-", "pw-2-", "s3cret-", "blob-"})
		})
	}
}

// asFunctionWithSDKEndpoints gives the extension the variables a function
// that reads through it has: both endpoint variables point at the
// extension itself, and AWS_ENDPOINT_URL at the emulator (as a test's
// override; in AWS it is unset).
func asFunctionWithSDKEndpoints() option {
	return func(l *launch) { l.sdkEndpoints = true }
}

// seedSDKScenario creates what the scenario reads, straight in moto: a
// string secret with a previous version, a binary secret, parameters.
func seedSDKScenario(t *testing.T, p string) {
	t.Helper()
	ctx := t.Context()
	sm := upstreamtest.Client(e2e.moto.URL())
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(p + "-db"), SecretString: aws.String("pw-0-" + p)}))
	must(sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(p + "-db"), SecretString: aws.String("pw-1-" + p)}))
	must(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(p + "-blob"), SecretBinary: []byte("blob-\x00\xff-" + p)}))
	params := upstreamtest.SSMClient(e2e.moto.URL())
	put := func(name, value string, typ ssmtypes.ParameterType) {
		must(params.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(true)}))
	}
	put("/"+p+"/plain", "plain-1", ssmtypes.ParameterTypeString)
	put("/"+p+"/secure", "s3cret-"+p, ssmtypes.ParameterTypeSecureString)
	for i := range 5 {
		put(fmt.Sprintf("/%s/deep/n%d", p, i), "deep", ssmtypes.ParameterTypeString)
	}
}

func checkReads(t *testing.T, call sdkRunner, in *instance, p string, lacks map[string]bool) {
	t.Helper()
	db := map[string]any{"SecretId": p + "-db"}
	for range 10 {
		if got := call(t, sdkCall{"secretsmanager", "GetSecretValue", db, ""}); got.OK["SecretString"] != "pw-1-"+p {
			t.Fatalf("GetSecretValue = %+v, want SecretString pw-1-%s", got, p)
		}
	}
	if n := in.proxy.CountSecret("GetSecretValue", p+"-db"); n != 1 {
		t.Errorf("10 reads within one TTL made %d upstream GetSecretValue calls, want 1", n)
	}
	blob := call(t, sdkCall{"secretsmanager", "GetSecretValue", map[string]any{"SecretId": p + "-blob"}, ""})
	if want := base64.StdEncoding.EncodeToString([]byte("blob-\x00\xff-" + p)); blob.OK["SecretBinary"] != want || blob.OK["SecretString"] != nil {
		t.Errorf("binary secret: %+v, want SecretBinary %s and no SecretString", blob, want)
	}
	previous := call(t, sdkCall{"secretsmanager", "GetSecretValue", map[string]any{"SecretId": p + "-db", "VersionStage": "AWSPREVIOUS"}, ""})
	if previous.OK["SecretString"] != "pw-0-"+p {
		t.Errorf("VersionStage AWSPREVIOUS: %+v, want pw-0-%s", previous, p)
	}
	missing := call(t, sdkCall{"secretsmanager", "GetSecretValue", map[string]any{"SecretId": p + "-missing"}, ""})
	if missing.Error != "ResourceNotFoundException" || missing.Class != "ResourceNotFoundException" {
		t.Errorf("missing secret: %+v, want the SDK's ResourceNotFoundException", missing)
	}

	secure := map[string]any{"Name": "/" + p + "/secure", "WithDecryption": true}
	if got := call(t, sdkCall{"ssm", "GetParameter", secure, ""}); parameterValue(got) != "s3cret-"+p {
		t.Errorf("SecureString with decryption: %+v", got)
	}
	secure["WithDecryption"] = false
	if got := call(t, sdkCall{"ssm", "GetParameter", secure, ""}); got.Error != "" || parameterValue(got) == "s3cret-"+p {
		t.Errorf("SecureString without decryption answered %+v, want the encrypted value", got)
	}

	got := call(t, sdkCall{"ssm", "GetParameters", map[string]any{"Names": []string{"/" + p + "/plain", "/" + p + "/missing"}}, ""})
	if names := parameterNames(got.OK["Parameters"]); !slices.Equal(names, []string{"/" + p + "/plain"}) ||
		fmt.Sprint(got.OK["InvalidParameters"]) != "[/"+p+"/missing]" {
		t.Errorf("GetParameters with a missing name: %+v", got)
	}

	var names []string
	pages := 0
	params := map[string]any{"Path": "/" + p + "/deep", "MaxResults": 2}
	for ; pages < 10; pages++ {
		page := call(t, sdkCall{"ssm", "GetParametersByPath", params, ""})
		if page.Error != "" {
			t.Fatalf("GetParametersByPath: %+v", page)
		}
		names = append(names, parameterNames(page.OK["Parameters"])...)
		next, _ := page.OK["NextToken"].(string)
		if next == "" {
			break
		}
		params = map[string]any{"Path": "/" + p + "/deep", "MaxResults": 2, "NextToken": next}
	}
	slices.Sort(names)
	if len(names) != 5 || pages < 2 || names[0] != "/"+p+"/deep/n0" {
		t.Errorf("GetParametersByPath read %v in %d pages, want the 5 parameters over 3 pages", names, pages+1)
	}

	if lacks["BatchGetSecretValue"] {
		return
	}
	batch := call(t, sdkCall{"secretsmanager", "BatchGetSecretValue", map[string]any{"SecretIdList": []string{p + "-db", p + "-missing"}}, ""})
	values, _ := batch.OK["SecretValues"].([]any)
	errs, _ := batch.OK["Errors"].([]any)
	if len(values) != 1 || len(errs) != 1 || errs[0].(map[string]any)["ErrorCode"] != "ResourceNotFoundException" {
		t.Errorf("BatchGetSecretValue with one missing id: %+v", batch)
	}
}

// checkRefusals: a request not signed, or signed with other credentials,
// is refused with the service's own error shape.
func checkRefusals(t *testing.T, call sdkRunner) {
	t.Helper()
	for auth, code := range map[string]string{"unsigned": "MissingAuthenticationTokenException", "other": "UnrecognizedClientException"} {
		got := call(t, sdkCall{"secretsmanager", "GetSecretValue", map[string]any{"SecretId": "Starfleet"}, auth})
		if got.Error != code || got.Status != 403 || got.OK != nil {
			t.Errorf("%s request: %+v, want %s with status 403", auth, got, code)
		}
	}
}

// checkWrites: a write is passed to the service, and the function reads
// it back at once, within the TTL.
func checkWrites(t *testing.T, call sdkRunner, in *instance, p string) {
	t.Helper()
	put := call(t, sdkCall{"secretsmanager", "PutSecretValue", map[string]any{"SecretId": p + "-db", "SecretString": "pw-2-" + p}, ""})
	if put.Error != "" || put.OK["VersionId"] == nil {
		t.Fatalf("PutSecretValue through the extension: %+v", put)
	}
	if in.proxy.Count("PutSecretValue") != 1 {
		t.Errorf("the proxy saw %d PutSecretValue calls, want 1", in.proxy.Count("PutSecretValue"))
	}
	if got := call(t, sdkCall{"secretsmanager", "GetSecretValue", map[string]any{"SecretId": p + "-db"}, ""}); got.OK["SecretString"] != "pw-2-"+p {
		t.Errorf("read after a write through the extension: %+v, want pw-2-%s", got, p)
	}
	plain := map[string]any{"Name": "/" + p + "/plain"}
	call(t, sdkCall{"ssm", "GetParameter", plain, ""}) // cached before the write
	if got := call(t, sdkCall{"ssm", "PutParameter", map[string]any{"Name": "/" + p + "/plain", "Value": "plain-2", "Type": "String", "Overwrite": true}, ""}); got.Error != "" {
		t.Fatalf("PutParameter through the extension: %+v", got)
	}
	if got := call(t, sdkCall{"ssm", "GetParameter", plain, ""}); parameterValue(got) != "plain-2" {
		t.Errorf("parameter read after a write through the extension: %+v, want plain-2", got)
	}
}

// checkRotation: a new version put in the service straight, not through
// the extension, is read within one TTL.
func checkRotation(t *testing.T, call sdkRunner, p string) {
	t.Helper()
	db := map[string]any{"SecretId": p + "-db"}
	before := call(t, sdkCall{"secretsmanager", "GetSecretValue", db, ""})
	rotated := "pw-3-" + p
	if _, err := upstreamtest.Client(e2e.moto.URL()).PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(p + "-db"), SecretString: aws.String(rotated)}); err != nil {
		t.Fatal(err)
	}
	var last sdkAnswer
	if !poll(t, 20*time.Second, 100*time.Millisecond, func() bool {
		last = call(t, sdkCall{"secretsmanager", "GetSecretValue", db, ""})
		return last.OK["SecretString"] == rotated
	}) {
		t.Errorf("the rotation was not seen within 20s (TTL 1s): before %+v, last %+v", before, last)
	}
}

func parameterValue(a sdkAnswer) string {
	p, _ := a.OK["Parameter"].(map[string]any)
	v, _ := p["Value"].(string)
	return v
}

func parameterNames(list any) []string {
	var names []string
	items, _ := list.([]any)
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			names = append(names, fmt.Sprint(m["Name"]))
		}
	}
	return names
}

// streamRunner starts a runner process that reads one call a line and
// answers one a line.
func streamRunner(t *testing.T, env []string, argv ...string) sdkRunner {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", argv[0], err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", argv[0], stderr.String())
		}
	})
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	return func(t *testing.T, call sdkCall) sdkAnswer {
		t.Helper()
		line, _ := json.Marshal(call)
		if _, err := stdin.Write(append(line, '\n')); err != nil {
			t.Fatalf("%s: %v\n%s", argv[0], err, stderr.String())
		}
		if !lines.Scan() {
			t.Fatalf("%s ended without answering %s: %v\n%s", argv[0], line, lines.Err(), stderr.String())
		}
		var a sdkAnswer
		if err := json.Unmarshal(lines.Bytes(), &a); err != nil {
			t.Fatalf("%s answered %q: %v", argv[0], lines.Text(), err)
		}
		return a
	}
}

// debianAWSCLI is the AWS CLI v2 from Debian's awscli package: 2.9, which
// predates the endpoint variables, so it is given --endpoint-url.
const debianAWSCLI = "/usr/bin/aws"

// cliRunner makes each call with one run of the CLI.
func cliRunner(t *testing.T, env []string, base string) sdkRunner {
	t.Helper()
	if _, err := os.Stat(debianAWSCLI); err != nil {
		t.Fatalf("%s is required (Debian's awscli package; .ci/run installs it): %v", debianAWSCLI, err)
	}
	kebab := regexp.MustCompile(`([a-z])([A-Z])`)
	run := func(t *testing.T, call sdkCall) sdkAnswer {
		t.Helper()
		input, _ := json.Marshal(call.Params)
		argv := []string{debianAWSCLI, call.Service, strings.ToLower(kebab.ReplaceAllString(call.Op, "$1-$2")),
			"--cli-input-json", string(input), "--endpoint-url", base, "--output", "json", "--no-paginate", "--no-cli-pager"}
		cmdEnv := env
		switch call.Auth {
		case "unsigned":
			argv = append(argv, "--no-sign-request")
		case "other":
			cmdEnv = append(slices.Clone(env), "AWS_ACCESS_KEY_ID=AKIDOTHERCALLER00000", "AWS_SECRET_ACCESS_KEY=other-secret", "AWS_SESSION_TOKEN=other-token")
		}
		stdout, stderr, code := runCmd(t, "", cmdEnv, argv...)
		if code != 0 {
			m := regexp.MustCompile(`An error occurred \((\w+)\)`).FindStringSubmatch(stderr)
			if m == nil {
				t.Fatalf("aws %s %s: exit %d\n%s", call.Service, call.Op, code, stderr)
			}
			// The CLI has no exception classes; it names the code, and
			// the status is the service's for the codes this test expects.
			return sdkAnswer{Error: m[1], Class: m[1], Status: cliStatus[m[1]]}
		}
		var a sdkAnswer
		if err := json.Unmarshal([]byte(stdout), &a.OK); err != nil {
			t.Fatalf("aws %s %s printed %q: %v", call.Service, call.Op, stdout, err)
		}
		return a
	}
	return run
}

// cliStatus is the status behind the error codes the CLI names.
var cliStatus = map[string]int{"MissingAuthenticationTokenException": 403, "UnrecognizedClientException": 403}

// goRunnerVariable makes the test binary a runner of the AWS SDK for Go
// v2 instead of running tests: see TestMain.
const goRunnerVariable = "STARFLEET_E2E_GO_SDK_RUNNER"

// goOperation makes one call with the Go SDK, its input decoded from JSON.
type goOperation func(ctx context.Context, cfg aws.Config, params []byte) (any, error)

// sdkOperation is a goOperation of one client method, the client made by
// newClient from the configuration.
func sdkOperation[C, O, In, Out any](newClient func(aws.Config, ...func(*O)) *C,
	method func(*C, context.Context, *In, ...func(*O)) (*Out, error)) goOperation {
	return func(ctx context.Context, cfg aws.Config, params []byte) (any, error) {
		var in In
		if err := json.Unmarshal(params, &in); err != nil {
			return nil, err
		}
		return method(newClient(cfg), ctx, &in)
	}
}

var goOperations = map[string]goOperation{
	"GetSecretValue":      sdkOperation(secretsmanager.NewFromConfig, (*secretsmanager.Client).GetSecretValue),
	"BatchGetSecretValue": sdkOperation(secretsmanager.NewFromConfig, (*secretsmanager.Client).BatchGetSecretValue),
	"PutSecretValue":      sdkOperation(secretsmanager.NewFromConfig, (*secretsmanager.Client).PutSecretValue),
	"GetParameter":        sdkOperation(ssm.NewFromConfig, (*ssm.Client).GetParameter),
	"GetParameters":       sdkOperation(ssm.NewFromConfig, (*ssm.Client).GetParameters),
	"GetParametersByPath": sdkOperation(ssm.NewFromConfig, (*ssm.Client).GetParametersByPath),
	"PutParameter":        sdkOperation(ssm.NewFromConfig, (*ssm.Client).PutParameter),
}

// runGoSDK answers calls read from in, one a line, with the Go SDK
// configured from the environment alone, as a function's code is.
func runGoSDK(in io.Reader, out io.Writer) int {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	enc := json.NewEncoder(out)
	for lines.Scan() {
		var call struct {
			sdkCall
			Params json.RawMessage `json:"params"`
		}
		if err := json.Unmarshal(lines.Bytes(), &call); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		var opts []func(*config.LoadOptions) error
		switch call.Auth {
		case "other":
			opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDOTHERCALLER00000", "other-secret", "other-token")))
		case "unsigned":
			opts = append(opts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
		}
		opts = append(opts, config.WithRetryMaxAttempts(1))
		cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		result, err := goOperations[call.Op](context.Background(), cfg, call.Params)
		var answer any = struct {
			OK any `json:"ok"`
		}{result}
		if err != nil {
			answer = goError(err)
		}
		if err := enc.Encode(answer); err != nil {
			return 2
		}
	}
	return 0
}

// goError is how the Go SDK reports err: its code, the type the SDK gave
// it (types.ResourceNotFoundException for a modelled error), its status.
func goError(err error) sdkAnswer {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return sdkAnswer{Error: err.Error(), Class: fmt.Sprintf("%T", err)}
	}
	a := sdkAnswer{Error: api.ErrorCode(), Class: fmt.Sprintf("%T", api)}
	a.Class = a.Class[strings.LastIndexByte(a.Class, '.')+1:]
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		a.Status = status.HTTPStatusCode()
	}
	return a
}

// TestOwnReadsPassASignatureCheck: the extension's own reads, JSON-protocol
// requests it signs itself, pass a SigV4 check. A second extension stands
// in for Secrets Manager and Parameter Store and checks each signature as
// it checks an AWS SDK's; signed with the wrong secret key, the same reads
// are refused.
func TestOwnReadsPassASignatureCheck(t *testing.T) {
	resetMoto(t, starfleetSecret)
	params := upstreamtest.SSMClient(e2e.moto.URL())
	if _, err := params.PutParameter(t.Context(), &ssm.PutParameterInput{Name: aws.String("/chained/secure"), Value: aws.String("chained-s3cret"),
		Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	upstream := start(t)
	upstream.waitInit()
	through := func(extra ...string) *instance {
		in := start(t, withEnv(append([]string{
			"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + upstream.base,
			"AWS_ENDPOINT_URL_SSM=" + upstream.base,
		}, extra...)...))
		in.waitInit()
		return in
	}

	reader := through()
	if a := reader.get("GET", "/secret/STARFLEET"); a.status != 200 || !strings.Contains(a.body, "xoxb-e2e-slack-Q7d9Lm2v") {
		t.Errorf("a slice read through a signature-checking upstream: %d %s", a.status, a.body)
	}
	if a := reader.get("GET", "/systemsmanager/parameters/get?name=/chained/secure&withDecryption=true"); a.status != 200 || !strings.Contains(a.body, "chained-s3cret") {
		t.Errorf("a parameter read through a signature-checking upstream: %d %s", a.status, a.body)
	}
	if n := upstream.proxy.Count("GetSecretValue"); n != 1 {
		t.Errorf("the upstream extension read Secrets Manager %d times, want once", n)
	}

	forged := through("AWS_SECRET_ACCESS_KEY=not-the-secret-key")
	a := forged.get("GET", "/systemsmanager/parameters/get?name=/chained/secure&withDecryption=true")
	if a.status == 200 || strings.Contains(a.body, "chained-s3cret") {
		t.Errorf("a read signed with the wrong key: %d %s, want it refused", a.status, a.body)
	}
	if code, _ := errorBody(t, a); !strings.Contains(code, "Signature") {
		t.Errorf("a read signed with the wrong key failed with %q, want the upstream's signature refusal", code)
	}
}
