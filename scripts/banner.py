"""Print where Converc runs and the demo logins (from the seed-demo output)."""

import json
import sys

host, port = sys.argv[1], sys.argv[2]
demo = json.load(open("instance/demo.json"))
print(f"\n  Converc is running: http://{host}:{port}")
for user in demo["users"]:
    print(f"  demo {user['role']:5} login: {user['email']} / {user['password']}")
print(f"  demo site ({demo['site']['domain']}) public key: {demo['site']['publicKey']}\n", flush=True)
