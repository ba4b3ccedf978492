#!/bin/sh
# Runs the Lambda Runtime Interface Emulator in a private mount namespace
# (this script runs under `unshare -m`) with a tmpfs over /opt: the emulator
# starts extensions from /opt/extensions only, and under Managed Instances
# takes the runtime from /opt/bootstrap, so each test gets its own /opt and
# the machine's is never touched.
#
# Usage: rie-namespace.sh EXTENSION BOOTSTRAP RIE-COMMAND...
set -eu
extension=$1 bootstrap=$2
shift 2
mount --make-rprivate / 2>/dev/null || true
mount -t tmpfs -o mode=0755 starfleet-e2e /opt
mkdir /opt/extensions
cp "$extension" /opt/extensions/starfleet-secrets
cp "$bootstrap" /opt/bootstrap
exec "$@"
