"""Print the body of the refresh-token request sfauth sends, form-encoded, for curl --data @FILE.

    python3 bench/refresh_form.py TOKEN_FILE CLIENT_ID > refresh_form.txt

The curl floor of bench/run.sh (and bench/profile.sh) must POST exactly what `sfauth refresh`
POSTs: grant_type=refresh_token, client_id and the refresh_token read from TOKEN_FILE (an
sfauth token file), in that order. No client secret: the emulator does not require one and
none of the tools is given one. Prints the body alone, with no trailing newline. Standard
library only.
"""

import json
import sys
import urllib.parse


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    token_file, client_id = sys.argv[1], sys.argv[2]
    with open(token_file) as f:
        refresh_token = json.load(f)["refresh_token"]
    form = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token}
    sys.stdout.write(urllib.parse.urlencode(form))
    return 0


if __name__ == "__main__":
    sys.exit(main())
