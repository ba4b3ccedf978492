package awsconfig

import (
	"errors"
	"fmt"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
)

// service is an AWS service the extension calls itself, in its JSON
// protocol (Secrets Manager, Parameter Store) or its query protocol (STS).
type Service struct {
	Name         string // in messages: item.ServiceSecretsManager, item.ServiceParameterStore, item.ServiceSTS
	EndpointID   string // in AWS_ENDPOINT_URL_<endpointID>
	SDKID        string // the SDKs' service id, which a profile's services section names
	Prefix       string // the endpoint's first label, and the name requests are signed for
	TargetPrefix string // X-Amz-Target's, before the operation's name
}

// The Services' ids, as their endpoint variables spell them.
const (
	secretsManagerID = "SECRETS_MANAGER"
	ssmID            = "SSM"
	stsID            = "STS"
)

var (
	SecretsManager = Service{Name: item.ServiceSecretsManager, EndpointID: secretsManagerID, SDKID: "Secrets Manager", Prefix: "secretsmanager", TargetPrefix: "secretsmanager."}
	ParameterStore = Service{Name: item.ServiceParameterStore, EndpointID: ssmID, SDKID: "SSM", Prefix: "ssm", TargetPrefix: "AmazonSSM."}
	STS            = Service{Name: item.ServiceSTS, EndpointID: stsID, SDKID: "STS", Prefix: "sts"}

	// Services are the Services the extension calls, each with its own
	// endpoint override.
	Services = []Service{SecretsManager, ParameterStore, STS}
)

// Variant is which of a service's endpoints a configuration asks
// for: AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT.
type Variant struct{ FIPS, DualStack bool }

// partition is the part of AWS a region belongs to, and the DNS suffixes
// of its endpoints.
type partition struct {
	name, dnsSuffix, dualStackDNSSuffix string
	regionPrefix                        string // regions are regionPrefix-NAME-DIGITS
}

// partitions are AWS's partitions besides "aws", which takes every region
// none of them claims, as the SDKs' partition rules do.
var partitions = []partition{
	{name: "aws-cn", dnsSuffix: "amazonaws.com.cn", dualStackDNSSuffix: "api.amazonwebservices.com.cn", regionPrefix: "cn"},
	{name: "aws-us-gov", dnsSuffix: "amazonaws.com", dualStackDNSSuffix: "api.aws", regionPrefix: "us-gov"},
	{name: "aws-iso", dnsSuffix: "c2s.ic.gov", dualStackDNSSuffix: "api.aws.ic.gov", regionPrefix: "us-iso"},
	{name: "aws-iso-b", dnsSuffix: "sc2s.sgov.gov", dualStackDNSSuffix: "api.aws.scloud", regionPrefix: "us-isob"},
	{name: "aws-iso-e", dnsSuffix: "cloud.adc-e.uk", dualStackDNSSuffix: "api.cloud-aws.adc-e.uk", regionPrefix: "eu-isoe"},
	{name: "aws-iso-f", dnsSuffix: "csp.hci.ic.gov", dualStackDNSSuffix: "api.aws.hci.ic.gov", regionPrefix: "us-isof"},
	{name: "aws-eusc", dnsSuffix: "amazonaws.eu", dualStackDNSSuffix: "api.amazonwebservices.eu", regionPrefix: "eusc-de"},
}

var awsPartition = partition{name: "aws", dnsSuffix: "amazonaws.com", dualStackDNSSuffix: "api.aws"}

// partitionOf is the partition region belongs to: the one whose regions
// are PREFIX-NAME-DIGITS, or whose global pseudo-region it names, else
// "aws".
func partitionOf(region string) partition {
	for _, p := range partitions {
		if region == p.name+"-global" {
			return p
		}
		rest, ok := strings.CutPrefix(region, p.regionPrefix+"-")
		if !ok {
			continue
		}
		name, digits, ok := strings.Cut(rest, "-")
		if ok && name != "" && isWord(name) && digits != "" && strings.Trim(digits, "0123456789") == "" {
			return p
		}
	}
	return awsPartition
}

// isWord reports whether s is letters, digits and underscores only.
func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isHostLabel reports whether region can be a label of an endpoint's host
// name.
func isHostLabel(region string) bool {
	if region == "" || len(region) > 63 || region[0] == '-' || region[len(region)-1] == '-' {
		return false
	}
	for i := 0; i < len(region); i++ {
		c := region[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ErrCustomEndpointVariant is the SDKs' answer to a FIPS or dual-stack
// endpoint asked for beside an endpoint override.
var ErrCustomEndpointVariant = errors.New("AWS_USE_FIPS_ENDPOINT or AWS_USE_DUALSTACK_ENDPOINT is set beside an endpoint override (AWS_ENDPOINT_URL...): the two cannot be combined")

// EndpointURL is where s's requests in region go: override, if set,
// else the endpoint AWS publishes for the region and variant, as the
// SDKs' endpoint rules for Secrets Manager, Systems Manager and STS name
// it.
func EndpointURL(s Service, region string, override *string, v Variant) (string, error) {
	if override != nil {
		if v.FIPS || v.DualStack {
			return "", fmt.Errorf("%s endpoint: %w", s.Name, ErrCustomEndpointVariant)
		}
		return *override, nil
	}
	if !isHostLabel(region) {
		return "", fmt.Errorf("%s endpoint: region %q is not a DNS label; set AWS_REGION to a region such as us-east-1", s.Name, region)
	}
	p := partitionOf(region)
	host := s.Prefix
	if v.FIPS {
		host += "-fips"
	}
	suffix := p.dnsSuffix
	if v.DualStack {
		suffix = p.dualStackDNSSuffix
	}
	switch {
	// Secrets Manager's standard endpoints in these partitions answer
	// over IPv6 already, and are FIPS-validated ones with -fips.
	case s == SecretsManager && v.DualStack && (p.name == "aws" || p.name == "aws-us-gov"):
		suffix = "amazonaws.com"
	case s == SecretsManager && v.DualStack && !v.FIPS && p.name == "aws-cn":
		suffix = "amazonaws.com.cn"
	// GovCloud's Systems Manager and STS endpoints are FIPS-validated
	// without the -fips label.
	case s != SecretsManager && v.FIPS && !v.DualStack && p.name == "aws-us-gov":
		host = s.Prefix
	// STS's global endpoint.
	case s == STS && region == "aws-global" && !v.FIPS && !v.DualStack:
		return "https://sts.amazonaws.com", nil
	}
	return "https://" + host + "." + region + "." + suffix, nil
}
