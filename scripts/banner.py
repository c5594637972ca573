"""Wait until the web server answers, then print where Converc runs and the demo logins.

Printing before gunicorn answers sent people to a page that hung for half a minute.
"""

import json
import sys
import time
import urllib.error
import urllib.request

host, port = sys.argv[1], sys.argv[2]
local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
for _ in range(1200):  # ten minutes at most: a first install on a slow machine
    try:
        urllib.request.urlopen(f"http://{local}:{port}/login", timeout=2)
        break
    except urllib.error.HTTPError:
        break  # it answered
    except OSError:
        time.sleep(0.5)
else:
    sys.exit(f"Converc did not answer on http://{local}:{port} (see the log above)")

demo = json.load(open("instance/demo.json"))
site = demo["site"]
print(f"\n  Converc is running: http://{local}:{port}")
for user in demo["users"]:
    print(f"  demo {user['role']:5} login: {user['email']} / {user['password']}")
print(f"  demo site ({site['domain']}) public key: {site['publicKey']}")
print(f"  try the widget as a visitor: http://{site['domain']}:{port}/demo\n", flush=True)
