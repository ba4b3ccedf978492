package upstream

import (
	"errors"
	"fmt"
	"strings"

	"github.com/starfleet/starfleet-secrets/item"
)

// service is an AWS service the extension calls itself, in its JSON
// protocol (Secrets Manager, Parameter Store) or its query protocol (STS).
type service struct {
	name         string // in messages: item.ServiceSecretsManager, item.ServiceParameterStore, ServiceSTS
	endpointID   string // in AWS_ENDPOINT_URL_<endpointID>
	sdkID        string // the SDKs' service id, which a profile's services section names
	prefix       string // the endpoint's first label, and the name requests are signed for
	targetPrefix string // X-Amz-Target's, before the operation's name
}

// The services' ids, as their endpoint variables spell them.
const (
	secretsManagerID = "SECRETS_MANAGER"
	ssmID            = "SSM"
	stsID            = "STS"
)

var (
	secretsManagerAPI = service{name: item.ServiceSecretsManager, endpointID: secretsManagerID, sdkID: "Secrets Manager", prefix: "secretsmanager", targetPrefix: "secretsmanager."}
	parameterStoreAPI = service{name: item.ServiceParameterStore, endpointID: ssmID, sdkID: "SSM", prefix: "ssm", targetPrefix: "AmazonSSM."}
	stsAPI            = service{name: ServiceSTS, endpointID: stsID, sdkID: "STS", prefix: "sts"}

	// services are the services the extension calls, each with its own
	// endpoint override.
	services = []service{secretsManagerAPI, parameterStoreAPI, stsAPI}
)

// endpointVariant is which of a service's endpoints a configuration asks
// for: AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT.
type endpointVariant struct{ fips, dualStack bool }

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

// errCustomEndpointVariant is the SDKs' answer to a FIPS or dual-stack
// endpoint asked for beside an endpoint override.
var errCustomEndpointVariant = errors.New("AWS_USE_FIPS_ENDPOINT or AWS_USE_DUALSTACK_ENDPOINT is set beside an endpoint override (AWS_ENDPOINT_URL...): the two cannot be combined")

// endpointURL is where s's requests in region go: override, if set,
// else the endpoint AWS publishes for the region and variant, as the
// SDKs' endpoint rules for Secrets Manager, Systems Manager and STS name
// it.
func endpointURL(s service, region string, override *string, v endpointVariant) (string, error) {
	if override != nil {
		if v.fips || v.dualStack {
			return "", fmt.Errorf("%s endpoint: %w", s.name, errCustomEndpointVariant)
		}
		return *override, nil
	}
	if !isHostLabel(region) {
		return "", fmt.Errorf("%s endpoint: region %q is not a DNS label; set AWS_REGION to a region such as us-east-1", s.name, region)
	}
	p := partitionOf(region)
	host := s.prefix
	if v.fips {
		host += "-fips"
	}
	suffix := p.dnsSuffix
	if v.dualStack {
		suffix = p.dualStackDNSSuffix
	}
	switch {
	// Secrets Manager's standard endpoints in these partitions answer
	// over IPv6 already, and are FIPS-validated ones with -fips.
	case s == secretsManagerAPI && v.dualStack && (p.name == "aws" || p.name == "aws-us-gov"):
		suffix = "amazonaws.com"
	case s == secretsManagerAPI && v.dualStack && !v.fips && p.name == "aws-cn":
		suffix = "amazonaws.com.cn"
	// GovCloud's Systems Manager and STS endpoints are FIPS-validated
	// without the -fips label.
	case s != secretsManagerAPI && v.fips && !v.dualStack && p.name == "aws-us-gov":
		host = s.prefix
	// STS's global endpoint.
	case s == stsAPI && region == "aws-global" && !v.fips && !v.dualStack:
		return "https://sts.amazonaws.com", nil
	}
	return "https://" + host + "." + region + "." + suffix, nil
}
