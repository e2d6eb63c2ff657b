"""gunicorn's settings: it reads this file from the working directory (Procfile, bin/run)."""

# The access log without query strings or referers: operators search the console for a
# person's e-mail, phone or lead id (/admin/leads/leadvalidation/?q=jo@example.com), and a log
# line is out of erasure's reach. The path, method, status, size and agent stay.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
