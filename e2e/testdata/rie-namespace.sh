#!/bin/sh
# Runs the Lambda Runtime Interface Emulator in a private mount namespace
# (this script runs under `unshare -m`) with a tmpfs over /opt: the emulator
# starts extensions from /opt/extensions only, and under Managed Instances
# takes the runtime from /opt/bootstrap, so each test gets its own /opt and
# the machine's is never touched.
#
# The runtime's Python package goes to /opt/python, where a layer puts it
# and Lambda's Python looks: the emulator may run the runtime as another
# user, who cannot read the test's own temporary directories.
#
# Usage: rie-namespace.sh EXTENSION BOOTSTRAP PYTHON-PACKAGE RIE-COMMAND...
set -eu
extension=$1 bootstrap=$2 package=$3
shift 3
mount --make-rprivate / 2>/dev/null || true
mount -t tmpfs -o mode=0755 starfleet-e2e /opt
mkdir /opt/extensions
cp "$extension" /opt/extensions/starfleet-secrets
cp "$bootstrap" /opt/bootstrap
mkdir /opt/python
cp -R "$package" /opt/python/
exec "$@"
