"""Print one slice of the Starfleet secret: ``python3 -m starfleet_secrets SLICE``."""

import json
import sys

from starfleet_secrets import StarfleetSecretsError, get_slice


def main(argv):
    if len(argv) != 2:
        print("usage: python3 -m starfleet_secrets SLICE", file=sys.stderr)
        return 2
    try:
        value = get_slice(argv[1])
    except KeyError:
        print(f"error: the secret has no slice {argv[1]!r}", file=sys.stderr)
        return 1
    except (PermissionError, StarfleetSecretsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(value, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
