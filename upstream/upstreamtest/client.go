package upstreamtest

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Fake credentials and region used by Client and Env. moto accepts any.
const (
	AccessKeyID     = "AKIDEXAMPLE"
	SecretAccessKey = "secret"
	Region          = "us-east-1"
)

// Client returns a Secrets Manager client pointed at url (moto, or a Proxy in
// front of it) with static fake credentials and region us-east-1. Nothing is
// read from the environment or ~/.aws. Pass m.URL() for direct setup calls
// (create/put/update secrets) that should not be counted by a Proxy.
//
// optFns adjust the client, e.g. to disable retries so proxy counts are
// exact:
//
//	c := upstreamtest.Client(p.URL(), func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
func Client(url string, optFns ...func(*secretsmanager.Options)) *secretsmanager.Client {
	opts := secretsmanager.Options{
		Region:       Region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}
	return secretsmanager.New(opts, optFns...)
}

// SSMClient is Client for Parameter Store.
func SSMClient(url string) *ssm.Client {
	return ssm.New(ssm.Options{
		Region:       Region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	})
}

// Env returns the environment variables a process (e.g. the extension binary
// under test) needs to reach Secrets Manager and Parameter Store at url with
// fake credentials: AWS_ENDPOINT_URL_SECRETS_MANAGER=url and
// AWS_ENDPOINT_URL_SSM=url and AWS_ENDPOINT_URL_STS=url, static credentials, region us-east-1,
// IMDS disabled, and AWS_CONFIG_FILE/AWS_SHARED_CREDENTIALS_FILE pointing at
// /dev/null so a developer's ~/.aws cannot leak in. Variables that would
// otherwise break or redirect that setup (AWS_PROFILE, AWS_SESSION_TOKEN, ...)
// are set empty, which the SDK treats as unset.
//
// Append it after the inherited environment so it wins (os/exec keeps the
// last value of a duplicated key):
//
//	cmd.Env = append(os.Environ(), upstreamtest.Env(p.URL())...)
func Env(url string) []string {
	return []string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + url,
		"AWS_ENDPOINT_URL_SSM=" + url,
		"AWS_ENDPOINT_URL_STS=" + url,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PROFILE=",
		"AWS_DEFAULT_PROFILE=",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=",
	}
}
