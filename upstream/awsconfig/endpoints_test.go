package awsconfig

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestPointsAt(t *testing.T) {
	for endpoint, want := range map[string]bool{
		"http://localhost:2773":          true,
		"http://LOCALHOST:2773/":         true,
		"http://127.0.0.1:2773":          true,
		"http://127.0.0.53:2773":         true,
		"http://[::1]:2773":              true,
		"http://0.0.0.0:2773":            true,
		"http://localhost.:2773":         true,
		"http://LocalHost.:2773/":        true,
		"http://app.localhost:2773":      true,
		"http://[::ffff:127.0.0.1]:2773": true,
		"http://localhost.evil:2773":     false,
		"http://notlocalhost:2773":       false,
		" http://localhost:2773 ":        true,
		"http://localhost:2774":          false,
		"http://localhost":               false,
		"http://10.0.0.1:2773":           false,
		"https://secretsmanager:443":     false,
		"http://moto:2773":               false,
		"":                               false,
		"localhost:2773":                 false,
		"http://%zz":                     false,
	} {
		if got := PointsAt(endpoint, 2773); got != want {
			t.Errorf("PointsAt(%q, 2773) = %v, want %v", endpoint, got, want)
		}
	}
	if !PointsAt("http://localhost", 80) || !PointsAt("https://127.0.0.1", 443) {
		t.Error("a URL without a port names its scheme's")
	}
}

// TestIgnoreEndpointsAt: the settings a function makes so that its SDK
// reads through the extension are dropped for the extension's own
// upstream, and the override next in line holds.
func TestIgnoreEndpointsAt(t *testing.T) {
	env := map[string]string{
		"AWS_ENDPOINT_URL":                 "http://127.0.0.1:5000",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://localhost:2773",
		"AWS_ENDPOINT_URL_SSM":             "http://127.0.0.1:2773/",
		"AWS_ENDPOINT_URL_STS":             "http://127.0.0.1:6000",
	}
	a := AWS{Config: aws.Config{BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL"])}, endpoints: map[string]string{
		secretsManagerID: env["AWS_ENDPOINT_URL_SECRETS_MANAGER"], ssmID: env["AWS_ENDPOINT_URL_SSM"], stsID: env["AWS_ENDPOINT_URL_STS"]}}
	ignored := a.IgnoreEndpointsAt(2773)
	if len(ignored) != 2 || ignored[0] != "AWS_ENDPOINT_URL_SECRETS_MANAGER" || ignored[1] != "AWS_ENDPOINT_URL_SSM" {
		t.Fatalf("ignored %v", ignored)
	}
	for id, want := range map[string]string{secretsManagerID: "http://127.0.0.1:5000", ssmID: "http://127.0.0.1:5000", stsID: "http://127.0.0.1:6000"} {
		base := a.Config.BaseEndpoint
		a.Endpoint(id, &base)
		if aws.ToString(base) != want {
			t.Errorf("%s endpoint %q, want %q", id, aws.ToString(base), want)
		}
	}

	// With the general setting pointing at the extension too, the
	// Services' own endpoints are used.
	a = AWS{Config: aws.Config{BaseEndpoint: aws.String("http://localhost.:2773")},
		endpoints: map[string]string{secretsManagerID: "http://[::1]:2773"}}
	a.IgnoreEndpointsAt(2773)
	if a.Config.BaseEndpoint != nil {
		t.Errorf("BaseEndpoint %q kept", *a.Config.BaseEndpoint)
	}
	base := a.Config.BaseEndpoint
	if a.Endpoint(secretsManagerID, &base); base != nil {
		t.Errorf("Secrets Manager endpoint %q, want the service's own", *base)
	}
}
