#!/usr/bin/env bash
# publish-layer.sh publishes a release's layer zips as Lambda layer versions,
# both architectures, in each region asked for, and grants them to accounts
# or an organisation. It is idempotent: a zip whose checksum (Lambda's
# CodeSha256) an existing version of the layer already has is not published
# again, and a grant already in a version's policy is not added again, so a
# failed run can simply be run again.
#
#   tools/publish-layer.sh --dir dist/release-1.2.3 --version 1.2.3 \
#     --regions us-east-1,eu-west-1 [--name starfleet-secrets] \
#     [--grant-account 111122223333]... [--grant-org o-abcd1234]
#
# It prints one line per region and architecture:
#   REGION ARCH LAYER_VERSION_ARN published|unchanged
# and the grants it added on standard error. It needs the AWS CLI (AWS_CLI
# names another than the aws on PATH) and
# credentials allowed lambda:PublishLayerVersion, lambda:ListLayerVersions,
# lambda:GetLayerVersion, lambda:GetLayerVersionPolicy and
# lambda:AddLayerVersionPermission. AWS_ENDPOINT_URL, where set, is passed
# to every call (older CLIs do not read it themselves).
set -euo pipefail

usage() {
  echo "usage: $0 --dir DIR --version X.Y.Z --regions R1[,R2...] [--name NAME] [--grant-account ID]... [--grant-org ORG_ID]" >&2
  exit 2
}
die() { echo "publish-layer: $*" >&2; exit 1; }

dir="" version="" regions="" name="starfleet-secrets" org=""
accounts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:-}"; shift 2 ;;
    --version) version="${2:-}"; shift 2 ;;
    --regions) regions="${2:-}"; shift 2 ;;
    --name) name="${2:-}"; shift 2 ;;
    --grant-account) accounts+=("${2:-}"); shift 2 ;;
    --grant-org) org="${2:-}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "publish-layer: unknown argument $1" >&2; usage ;;
  esac
done
[ -n "$dir" ] && [ -n "$version" ] && [ -n "$regions" ] || usage
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version must be x.y.z, not '$version'"
[[ "$name" =~ ^[A-Za-z0-9_-]{1,100}$ ]] || die "--name must be letters, digits, - and _, not '$name'"
for a in "${accounts[@]+"${accounts[@]}"}"; do
  [[ "$a" =~ ^[0-9]{12}$ ]] || die "--grant-account must be a 12-digit account id, not '$a'"
done
[ -z "$org" ] || [[ "$org" =~ ^o-[a-z0-9]{10,32}$ ]] || die "--grant-org must be an organisation id (o-...), not '$org'"
command -v "${AWS_CLI:-aws}" >/dev/null 2>&1 || die "the AWS CLI is required (https://docs.aws.amazon.com/cli/), or AWS_CLI naming it"

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT

archs=(arm64 x86_64)
declare -A sha
for arch in "${archs[@]}"; do
  zip="$dir/starfleet-secrets-layer-$arch.zip"
  [ -f "$zip" ] || die "$zip is missing: make release VERSION=$version writes both zips"
  # Lambda's CodeSha256: the base64 of the zip's SHA-256.
  sha[$arch]=$(openssl dgst -sha256 -binary "$zip" | base64)
done

awsl() {
  local region=$1; shift
  AWS_PAGER="" "${AWS_CLI:-aws}" --region "$region" ${AWS_ENDPOINT_URL:+--endpoint-url "$AWS_ENDPOINT_URL"} lambda "$@"
}

# existing_version prints "VERSION ARN" of the version of layer $2 in
# region $1 whose code has checksum $3, if one has. ListLayerVersions does
# not answer the checksum: each version is asked, newest first.
existing_version() {
  local region=$1 layer=$2 want=$3 v got
  for v in $(awsl "$region" list-layer-versions --layer-name "$layer" --query 'LayerVersions[].Version' --output text); do
    [ "$v" = "None" ] && continue
    got=$(awsl "$region" get-layer-version --layer-name "$layer" --version-number "$v" \
      --query '[Content.CodeSha256,Version,LayerVersionArn]' --output text)
    if [ "${got%%[[:space:]]*}" = "$want" ]; then
      echo "${got#*[[:space:]]}"
      return
    fi
  done
}

# policy prints the policy of version $3 of layer $2 in region $1, empty
# if it has none.
policy() {
  local region=$1 layer=$2 v=$3 out
  if ! out=$(awsl "$region" get-layer-version-policy --layer-name "$layer" --version-number "$v" --query Policy --output text 2>"$errfile"); then
    case "$(cat "$errfile")" in
      *ResourceNotFoundException*) out="" ;;
      *) die "reading the policy of $layer:$v in $region: $(cat "$errfile")" ;;
    esac
  fi
  echo "$out"
}

# grant adds statement $5 (principal $6, organisation $7) to version $3 of
# layer $2 in region $1 unless its policy $4 already has a statement of
# that id.
grant() {
  local region=$1 layer=$2 v=$3 current=$4 sid=$5 principal=$6 orgid=${7:-}
  if [[ "$current" == *"\"Sid\":\"$sid\""* || "$current" == *"\"Sid\": \"$sid\""* ]]; then
    return
  fi
  awsl "$region" add-layer-version-permission --layer-name "$layer" --version-number "$v" \
    --statement-id "$sid" --action lambda:GetLayerVersion --principal "$principal" \
    ${orgid:+--organization-id "$orgid"} --output text --query RevisionId >/dev/null
  echo "publish-layer: granted $layer:$v in $region to ${orgid:-$principal}" >&2
}

IFS=',' read -r -a region_list <<<"$regions"
for region in "${region_list[@]}"; do
  [[ "$region" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || die "'$region' is not a region name"
  for arch in "${archs[@]}"; do
    layer="$name-$arch"
    found=$(existing_version "$region" "$layer" "${sha[$arch]}")
    state=unchanged
    if [ -z "$found" ]; then
      found=$(awsl "$region" publish-layer-version --layer-name "$layer" \
        --description "starfleet-secrets $version ($arch)" --license-info Apache-2.0 \
        --compatible-architectures "$arch" --zip-file "fileb://$dir/starfleet-secrets-layer-$arch.zip" \
        --query '[Version,LayerVersionArn]' --output text)
      state=published
    fi
    read -r v arn <<<"$found"
    if [ "${#accounts[@]}" -gt 0 ] || [ -n "$org" ]; then
      current=$(policy "$region" "$layer" "$v")
      for a in "${accounts[@]+"${accounts[@]}"}"; do
        grant "$region" "$layer" "$v" "$current" "account-$a" "$a"
      done
      [ -z "$org" ] || grant "$region" "$layer" "$v" "$current" "organization-$org" "*" "$org"
    fi
    echo "$region $arch $arn $state"
  done
done
