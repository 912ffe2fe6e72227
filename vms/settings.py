"""Settings, every value from the environment (see .env.example for each variable)."""

import re
import socket
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

import environ
import psutil
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-dev-only-key"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Every Redis key of this deployment (leases, cache, channel layer, Celery queues) starts with it, so deployments
# sharing one Redis, or a test run beside a running system, never touch each other's keys.
VMS_REDIS_PREFIX = env.str("VMS_REDIS_PREFIX", default="vms")
# Relative paths are taken from the project directory, whatever the working directory.
VMS_RECORDINGS_ROOT = BASE_DIR / env.str("VMS_RECORDINGS_ROOT", default="var/recordings")
VMS_DETECTOR_MODEL = env.str("VMS_DETECTOR_MODEL", default="../shared/models/yolo11n_int8_openvino_model")
if (BASE_DIR / VMS_DETECTOR_MODEL).exists():
    VMS_DETECTOR_MODEL = str((BASE_DIR / VMS_DETECTOR_MODEL).resolve())
# Lifetime of signed segment/snapshot/thumbnail URLs (seconds).
VMS_MEDIA_URL_TTL = env.int("VMS_MEDIA_URL_TTL", default=6 * 3600)
# Days an expired (archived) event is kept before retention deletes it and its snapshot.
VMS_EVENT_PURGE_GRACE_DAYS = env.int("VMS_EVENT_PURGE_GRACE_DAYS", default=7)
# The runner of each pipeline kind the supervisor (cameras/pipeline/) starts per camera, by dotted path.
VMS_PIPELINE_RUNNERS = {
    "record": "playback.recording.recorder.run_recorder",
    "detect": "events.detection.detector.run",
}
# Recording pipelines (playback/recording/): HLS segment length, Redis lease lifetime, latest.jpg refresh, and the
# free-disk floor under which retention deletes the oldest recordings first.
VMS_SEGMENT_SECONDS = env.float("VMS_SEGMENT_SECONDS", default=2.0)
# The recorded object (one file, one index row, one PUT) gathers the segments of this many wall-clock seconds: 60 keeps
# S3 at 60 PUTs and the index at 1,440 rows per camera-day. It divides an hour, so no object spans two hours.
VMS_OBJECT_SECONDS = env.int("VMS_OBJECT_SECONDS", default=60)
if not 0 < VMS_OBJECT_SECONDS <= 300 or 3600 % VMS_OBJECT_SECONDS:
    raise ImproperlyConfigured(f"VMS_OBJECT_SECONDS must divide 3600 and be at most 300, not {VMS_OBJECT_SECONDS}")
VMS_PIPELINE_LEASE_MS = env.int("VMS_PIPELINE_LEASE_MS", default=3_000)
VMS_SNAPSHOT_SECONDS = env.float("VMS_SNAPSHOT_SECONDS", default=10.0)
VMS_RECORDINGS_MIN_FREE_MB = env.int("VMS_RECORDINGS_MIN_FREE_MB", default=1024)
# Where media goes after recording (playback/storage.py): "" keeps it on local disk only; s3://bucket[/prefix].
VMS_STORAGE_URL = env.str("VMS_STORAGE_URL", default="")
if VMS_STORAGE_URL and not re.fullmatch(r"s3://[^/]+(/.*)?", VMS_STORAGE_URL):
    raise ImproperlyConfigured(f"VMS_STORAGE_URL must be s3://bucket[/prefix] or empty, not {VMS_STORAGE_URL!r}")
# The S3-compatible server (MinIO, Ceph RGW, SeaweedFS, Garage); "" is AWS. Keys and region: AWS_* variables.
VMS_S3_ENDPOINT_URL = env.str("VMS_S3_ENDPOINT_URL", default="")
# Seconds uploaded media stays on the recording node's disk as well (live and the last minutes are served from it).
VMS_HOT_WINDOW_S = env.int("VMS_HOT_WINDOW_S", default=600)
# Worker nodes (cameras/pipeline/nodes.py): a node's name (its workers' own queues are `record.<name>` and
# `detect.<name>`), the record streams and detection frames per second it takes (0: its worker's concurrency, and
# the model's speed measured at start-up), and how often reconcile places pipelines (seconds). A node's heartbeat
# and a pipeline's lease live VMS_PIPELINE_LEASE_MS, so a dead node's cameras are placed again within seconds.
VMS_NODE_NAME = env.str("VMS_NODE_NAME", default="") or socket.gethostname().split(".")[0]
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}", VMS_NODE_NAME):
    raise ImproperlyConfigured(f"VMS_NODE_NAME: {VMS_NODE_NAME!r}: use 1-63 letters, digits, hyphens or underscores")
VMS_NODE_RECORD_STREAMS = env.int("VMS_NODE_RECORD_STREAMS", default=0)
VMS_NODE_DETECT_FPS = env.float("VMS_NODE_DETECT_FPS", default=0.0)
VMS_RECONCILE_SECONDS = env.float("VMS_RECONCILE_SECONDS", default=1.0)
# How a node measures what it takes of a kind at start-up, by dotted path (a function of no arguments).
VMS_NODE_MEASURES = {"detect": "events.detection.capacity.frames_per_second"}


def deny_nets(name: str, default: str) -> list[IPv4Network | IPv6Network]:
    """The networks of the comma-separated CIDRs in the variable `name` (else `default`), where `local` stands for
    every address of this host's interfaces as they are at start-up (127.0.0.1 is not the only way back in)."""
    nets = []
    for item in filter(None, (item.strip() for item in env.str(name, default=default).split(","))):
        try:
            if item == "local":
                nets += [ip_network(a.address.partition("%")[0]) for addresses in psutil.net_if_addrs().values()
                         for a in addresses if a.family in (socket.AF_INET, socket.AF_INET6)]  # fmt: skip
            else:
                nets.append(ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {exc}") from exc
    return nets


# Networks no camera may be on (comma-separated CIDRs, `local` for this host's addresses), so a tenant cannot point
# the pipelines at this system's own or internal hosts. When the list is not empty, a host name must resolve, and
# to no address on it, when the camera is saved and again before each pipeline start. Empty by default: cameras are
# on the recorders' own networks, `make run`'s demo camera on 127.0.0.1.
VMS_CAMERA_DENY_NETS = deny_nets("VMS_CAMERA_DENY_NETS", "")
# Webhooks (events/notify/webhooks.py). Plain http targets only where allowed (`make run` and the tests allow it);
# targets never on these networks (by default this host's addresses, loopback and link-local, where cloud metadata
# services answer): a target's name must resolve, to no address on them, at save and again before every attempt,
# which then connects to the address checked. A subscription failing this long without a success is disabled.
VMS_WEBHOOK_ALLOW_HTTP = env.bool("VMS_WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_DENY_NETS_DEFAULT = "local,127.0.0.0/8,::1/128,169.254.0.0/16,fe80::/10"
VMS_WEBHOOK_DENY_NETS = deny_nets("VMS_WEBHOOK_DENY_NETS", WEBHOOK_DENY_NETS_DEFAULT)
VMS_WEBHOOK_DISABLE_AFTER = env.float("VMS_WEBHOOK_DISABLE_AFTER", default=3 * 24 * 3600.0)  # seconds
VMS_WEBHOOK_TIMEOUT = env.float("VMS_WEBHOOK_TIMEOUT", default=10.0)  # seconds per attempt
VMS_WEBHOOK_RETRY_BASE = env.float("VMS_WEBHOOK_RETRY_BASE", default=10.0)  # first retry after about this (seconds)
VMS_WEBHOOK_RETRY_MAX = env.float("VMS_WEBHOOK_RETRY_MAX", default=3600.0)  # back-off never waits longer
# How often the notification relay (events/notify/relay.py) looks for new events when idle (seconds).
VMS_NOTIFY_POLL_S = env.float("VMS_NOTIFY_POLL_S", default=0.1)
# The relay's sinks that live in apps above events, by name (their cursors' NotifyCursor.sink) and dotted path.
VMS_RELAY_SINKS = {"watchlists": "watchlists.matching.WatchlistSink"}
# MQTT (events/notify/mqtt.py): mqtt://[user:password@]host[:port]; empty = no MQTT. The topic prefix (topic levels,
# e.g. `site-1`) goes before every topic's `vms/`: deployments sharing a broker need one each.
VMS_MQTT_URL = env.str("VMS_MQTT_URL", default="")
VMS_MQTT_TOPIC_PREFIX = env.str("VMS_MQTT_TOPIC_PREFIX", default="").strip("/")
if {"+", "#", "\x00"} & set(VMS_MQTT_TOPIC_PREFIX) or "//" in VMS_MQTT_TOPIC_PREFIX:
    raise ImproperlyConfigured(f"VMS_MQTT_TOPIC_PREFIX must be topic levels, no wildcards: {VMS_MQTT_TOPIC_PREFIX!r}")
# A camera offline (or back online) this long becomes a camera_offline (camera_online) event: shorter flaps do not.
VMS_CAMERA_HEALTH_DEBOUNCE = env.float("VMS_CAMERA_HEALTH_DEBOUNCE", default=5.0)
# `make run`'s demo camera (scripts/demo_camera.py, the Procfile's `camera`), which create_demo adds to the demo
# tenant as rtsp://127.0.0.1:<port>/demo. scripts/run.sh reads the same switch, so only these words are accepted.
_demo_camera = env.str("VMS_DEMO_CAMERA", default="").strip().lower() or "true"
if _demo_camera not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
    raise ImproperlyConfigured(f"VMS_DEMO_CAMERA must be 1/true/yes/on or 0/false/no/off, not {_demo_camera!r}")
VMS_DEMO_CAMERA = _demo_camera in ("1", "true", "yes", "on")
VMS_DEMO_CAMERA_PORT = env.int("VMS_DEMO_CAMERA_PORT", default=8554)
METRICS_USER = env.str("METRICS_USER", default="metrics")
METRICS_PASSWORD = env.str("METRICS_PASSWORD", default="")
if not METRICS_PASSWORD and not DEBUG:
    raise ImproperlyConfigured("METRICS_PASSWORD must be set when DEBUG is off")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_prometheus",
    "tenants",
    "cameras",
    "live",
    "events",
    "playback",
    "shares",
    "reports",
    "watchlists",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ (the SPA at /v2/, the admin) from daphne itself: no separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, so the headers the middleware above add are on its JSON errors too.
    "tenants.middleware.ApiErrorsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "vms.urls"
ASGI_APPLICATION = "vms.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/vms")}
DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
# With a pool, Django checks a connection as the pool hands it out: one PostgreSQL dropped (a restart) is replaced.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Under daphne each request runs on a thread of its own, so a persistent connection (CONN_MAX_AGE) was never reused:
# every request left one open, until PostgreSQL's max_connections ran out. The web process (vms/server.py, where
# this defaults to 20) keeps a pool instead (psycopg_pool; Django requires CONN_MAX_AGE 0 with it). Workers do not:
# a thread holds its connection while it runs, so the `record` queue's threads, whose tasks run for hours, would
# need a pool above their concurrency; without one each thread's connection is closed after its task.
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0)
if DB_POOL_MAX_SIZE:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),  # seconds a request waits for a free connection
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
# Lets test runs that share one PostgreSQL server use databases of their own.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": VMS_REDIS_PREFIX,
    }
}
# channels_redis waits for messages with BZPOPMIN of 5 s; redis-py 8's default socket_timeout is 5 s too, so
# an idle consumer's read timed out and the WebSocket died. The socket timeout must outlast the wait.
# Each WebSocket connect holds a pooled connection for its group_add, and redis-py's pool refuses (rather than
# waits) past max_connections (default 100): a burst of clients (reconnects after a restart) needs room.
CHANNEL_LAYER_MAX_CONNECTIONS = env.int("CHANNEL_LAYER_MAX_CONNECTIONS", default=1000)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": CHANNEL_LAYER_MAX_CONNECTIONS}],
            "prefix": f"{VMS_REDIS_PREFIX}:asgi",
        },
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# The SPA's browser libraries come from npm (scripts/install.sh runs `npm ci`): hls.js for the player, Chart.js for
# the reports.
for prefix, dist in (("vendor/hls", "hls.js/dist"), ("vendor/chartjs", "chart.js/dist")):
    if (BASE_DIR / "node_modules" / dist).is_dir():
        STATICFILES_DIRS.append((prefix, BASE_DIR / "node_modules" / dist))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.auth.TenantJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.HasTenantScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tenants.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tenants.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TTL", default=3600)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "AUTH_HEADER_TYPES": ("Bearer", "JWT"),
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "UPDATE_LAST_LOGIN": True,
}


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as 10/min: a value DRF cannot parse fails at start-up, not at the first login."""
    value = env.str(name, default=default)
    count, _, period = value.partition("/")
    if not count.isdigit() or period[:1] not in ("s", "m", "h", "d"):
        raise ImproperlyConfigured(f"{name} must be a count per s, min, hour or day (e.g. 10/min), not {value!r}")
    return value


# Login attempts per username and per client address: every POST /v2/api/auth/token and /v2/api/auth/refresh, and
# failed /admin/ logins, count in the same budgets (tenants/throttles.py); over it, 429 with Retry-After (the admin
# form refuses). Failed /v2/metrics basic auth gets the per-user rate per address, in a budget of its own.
VMS_LOGIN_RATE_PER_USER = env_rate("VMS_LOGIN_RATE_PER_USER", "10/min")
VMS_LOGIN_RATE_PER_ADDRESS = env_rate("VMS_LOGIN_RATE_PER_ADDRESS", "30/min")
# The client address is REMOTE_ADDR; behind N reverse proxies that set X-Forwarded-For, its N-th address from the
# right. 0 ignores the header, which a client could otherwise forge to escape the per-address limit.
REST_FRAMEWORK["NUM_PROXIES"] = env.int("VMS_NUM_PROXIES", default=0)

SPECTACULAR_SETTINGS = {
    "TITLE": "MYVMS v2 API",
    "VERSION": "2",
    "DESCRIPTION": "Cameras, events, realtime and playback of a multi-tenant VMS.",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tenants.api.openapi.describe_request_handling",
    ],
    "ENUM_NAME_OVERRIDES": {"EventTypeEnum": "events.catalogue.EVENT_CATEGORIES"},
}

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{VMS_REDIS_PREFIX}:celery:",
    # How long a task taken by a worker that died unacked (acks_late: e.g. an export) waits before redelivery.
    "visibility_timeout": env.int("VMS_BROKER_VISIBILITY_TIMEOUT", default=3600),
}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"playback.run_export": {"queue": "export"}, "events.notify.*": {"queue": "notify"}}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    "purge-expired-events": {"task": "events.purge_expired_events", "schedule": 3600.0},
    # Pipelines: start missing ones, stop unwanted ones, restart crashed ones (expires: never let runs pile up).
    "reconcile-pipelines": {
        "task": "cameras.reconcile_pipelines",
        "schedule": VMS_RECONCILE_SECONDS,
        "options": {"expires": VMS_RECONCILE_SECONDS},
    },
    "purge-recordings": {"task": "playback.purge_recordings", "schedule": 600.0},
    "sweep-webhooks": {"task": "events.notify.sweep", "schedule": 5.0, "options": {"expires": 5}},
    # Audit entries wait in Redis until this writes them (tenants/audit.py): readiness warns if it stops.
    "drain-audit": {"task": "tenants.drain_audit", "schedule": 1.0, "options": {"expires": 1}},
    "purge-audit": {"task": "tenants.purge_audit", "schedule": 3600.0},
    "check-audit-chains": {"task": "tenants.check_audit_chains", "schedule": 3600.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Every record is masked before it is written: ffmpeg and ffprobe messages quote camera URLs with passwords.
    "filters": {
        "mask_credentials": {"()": "cameras.rtsp.MaskCredentials"},
        "quiet_routine_tasks": {"()": "vms.celery.QuietRoutineTasks"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_credentials", "quiet_routine_tasks"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # aioice and aiortc log every ICE check and DTLS step of a WebRTC viewer at INFO.
    "loggers": {name: {"level": "WARNING"} for name in ("django.db.backends", "aioice", "aiortc")},
}
# Celery workers (where the pipelines run) keep the root handler above, and so its filter, instead of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
