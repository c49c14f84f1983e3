"""The tunnel, VPS side: Pangolin, Gerbil, Traefik and CrowdSec, ready for `docker compose up`.

``lares render --target edge -o DIR`` writes, for the small public server the tunnel ends on:

- ``compose.yaml``: Pangolin (the dashboard and API), Gerbil (the WireGuard gateway that Newt
  connects to, holding the public ports), Traefik (TLS from Let's Encrypt, sharing Gerbil's
  network) and CrowdSec (reading Traefik's access log; Traefik asks it about each client
  through the CrowdSec bouncer plugin);
- ``config/config.yml`` (Pangolin), ``config/traefik/traefik_config.yml`` and
  ``dynamic_config.yml`` (Traefik's static and dynamic configuration),
  ``config/crowdsec/acquis.d/traefik.yaml`` (CrowdSec's acquisition of the access log);
- ``firewall.sh`` (UFW: SSH, HTTP, HTTPS and WireGuard in, everything else denied) and an sshd
  drop-in that allows keys only.

Versions are pinned in :data:`VERSIONS`. Pangolin's server secret and the bouncer's key are
generated secrets: Pangolin reads its secret from ``SERVER_SECRET`` (a 0600 env file), CrowdSec
registers the bouncer from a Docker secret named ``bouncer_key_traefik`` and Traefik's plugin
reads the same key from a file, so neither value is written into these files.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lares.catalog.model import SecretSpec
from lares.catalog.resolve import System
from lares.errors import ConfigError
from lares.render._web import header
from lares.render.bundle import SECRETS_DIR, Bundle, EnvFile, File, SecretCopy
from lares.render.host import Rule, sshd_dropin, ufw_script
from lares.yamlio import dump_yaml

TARGET = "edge"

#: Pinned versions: images, and the Traefik plugins Traefik downloads at start.
VERSIONS = {
    "pangolin": "docker.io/fosrl/pangolin:1.22.0",
    "gerbil": "docker.io/fosrl/gerbil:1.5.1",
    "traefik": "docker.io/traefik:v3.7.12",
    "crowdsec": "docker.io/crowdsecurity/crowdsec:v1.7.8",
    "badger": "v1.7.0",
    "crowdsec-bouncer": "v1.7.1",
}
WIREGUARD_PORT = 51820
SERVER_SECRET = "edge_server_secret"  # noqa: S105 - a secret id, not its value
BOUNCER_KEY = "edge_crowdsec_bouncer_key"
BOUNCER_NAME = "traefik"
SECRETS = {
    SERVER_SECRET: SecretSpec(length=48, description="Pangolin's server secret (SERVER_SECRET)"),
    BOUNCER_KEY: SecretSpec(length=48, description="the Traefik bouncer's CrowdSec API key"),
}
ACCESS_LOG = "/var/log/traefik/access.log"

FIREWALL = (
    Rule(22, "tcp", None, "SSH (keys only)", limit=True),
    Rule(80, "tcp", None, "HTTP: Let's Encrypt and the redirect to HTTPS"),
    Rule(443, "tcp", None, "HTTPS"),
    Rule(WIREGUARD_PORT, "udp", None, "WireGuard: Newt's tunnel to Gerbil"),
)


def _require(system: System) -> tuple[str, str]:
    """The dashboard host and the public domain; raises ConfigError when the tunnel is unset."""
    access = system.blueprint.access
    if access.tunnel is None or not access.domain:
        raise ConfigError(
            "the edge target needs access.tunnel and access.domain",
            hint="set access.domain and access.tunnel (endpoint, site) in lares.yaml",
        )
    host = urlsplit(access.tunnel.endpoint).hostname or ""
    return host, access.domain


def compose(system: System, source: str) -> str:
    """The VPS's compose file."""
    hardened = {"restart": "unless-stopped", "security_opt": ["no-new-privileges:true"]}
    services: dict[str, Any] = {
        "pangolin": {
            "image": VERSIONS["pangolin"],
            "container_name": "pangolin",
            **hardened,
            "env_file": [f"{SECRETS_DIR}/pangolin.env"],
            "volumes": ["./config:/app/config"],
            "mem_limit": "1g",
            "healthcheck": {
                "test": ["CMD", "curl", "-f", "http://localhost:3001/api/v1/"],
                "interval": "10s",
                "timeout": "10s",
                "retries": 15,
            },
        },
        "gerbil": {
            "image": VERSIONS["gerbil"],
            "container_name": "gerbil",
            **hardened,
            "depends_on": {"pangolin": {"condition": "service_healthy"}},
            "command": [
                "--reachableAt=http://gerbil:3004",
                "--generateAndSaveKeyTo=/var/config/key",
                "--remoteConfig=http://pangolin:3001/api/v1/",
            ],
            "volumes": ["./config/:/var/config"],
            "cap_add": ["NET_ADMIN", "SYS_MODULE"],
            "mem_limit": "256m",
            # Gerbil holds the public ports; Traefik listens inside its network namespace.
            "ports": [f"{WIREGUARD_PORT}:{WIREGUARD_PORT}/udp", "443:443", "80:80"],
        },
        "traefik": {
            "image": VERSIONS["traefik"],
            "container_name": "traefik",
            **hardened,
            "network_mode": "service:gerbil",
            "depends_on": {
                "pangolin": {"condition": "service_healthy"},
                "crowdsec": {"condition": "service_healthy"},
            },
            "command": ["--configFile=/etc/traefik/traefik_config.yml"],
            "volumes": [
                "./config/traefik:/etc/traefik:ro",
                "./config/letsencrypt:/letsencrypt",
                "./config/traefik/logs:/var/log/traefik",
            ],
            "secrets": [{"source": "traefik.bouncer_key", "target": "crowdsec_bouncer_key"}],
            "mem_limit": "512m",
        },
        "crowdsec": {
            "image": VERSIONS["crowdsec"],
            "container_name": "crowdsec",
            **hardened,
            "environment": {
                "COLLECTIONS": "crowdsecurity/traefik crowdsecurity/http-cve",
            },
            "volumes": [
                "./config/crowdsec/etc:/etc/crowdsec",
                "./config/crowdsec/acquis.d:/etc/crowdsec/acquis.d:ro",
                "./config/crowdsec/data:/var/lib/crowdsec/data",
                "./config/traefik/logs:/var/log/traefik:ro",
            ],
            # The image registers a bouncer for every /run/secrets/bouncer_key_<name>.
            "secrets": [
                {"source": "crowdsec.bouncer_key", "target": f"bouncer_key_{BOUNCER_NAME}"}
            ],
            "mem_limit": "512m",
            "healthcheck": {
                "test": ["CMD", "cscli", "lapi", "status"],
                "interval": "10s",
                "timeout": "5s",
                "retries": 6,
                "start_period": "30s",
            },
        },
    }
    doc = {
        "name": "pangolin",
        "services": services,
        "networks": {"default": {"driver": "bridge", "name": "pangolin"}},
        "secrets": {
            "traefik.bouncer_key": {"file": f"./{SECRETS_DIR}/traefik/{BOUNCER_KEY}"},
            "crowdsec.bouncer_key": {"file": f"./{SECRETS_DIR}/crowdsec/{BOUNCER_KEY}"},
        },
    }
    return header(source) + dump_yaml(doc)


def pangolin_config(system: System, source: str) -> str:
    """Pangolin's config.yml, without its secret (that comes from SERVER_SECRET)."""
    host, domain = _require(system)
    assert system.blueprint.access.tunnel is not None
    endpoint = system.blueprint.access.tunnel.endpoint.rstrip("/")
    doc = {
        "gerbil": {"start_port": WIREGUARD_PORT, "base_endpoint": host},
        "app": {
            "dashboard_url": endpoint,
            "log_level": "info",
            "telemetry": {"anonymous_usage": False},
        },
        "domains": {"domain1": {"base_domain": domain, "cert_resolver": "letsencrypt"}},
        "server": {
            "cors": {
                "origins": [endpoint],
                "methods": ["GET", "POST", "PUT", "DELETE", "PATCH"],
                "allowed_headers": ["X-CSRF-Token", "Content-Type"],
                "credentials": False,
            }
        },
        "flags": {
            "require_email_verification": False,
            "disable_signup_without_invite": True,
            "disable_user_create_org": True,
            "allow_raw_resources": False,
        },
    }
    return header(source) + dump_yaml(doc)


def traefik_static(system: System, source: str) -> str:
    """Traefik's static configuration: entry points, ACME, providers, plugins, access log."""
    doc = {
        "providers": {
            "http": {
                "endpoint": "http://pangolin:3001/api/v1/traefik-config",
                "pollInterval": "5s",
            },
            "file": {"filename": "/etc/traefik/dynamic_config.yml"},
        },
        "experimental": {
            "plugins": {
                "badger": {"moduleName": "github.com/fosrl/badger", "version": VERSIONS["badger"]},
                "crowdsec": {
                    "moduleName": "github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin",
                    "version": VERSIONS["crowdsec-bouncer"],
                },
            }
        },
        "log": {"level": "INFO", "format": "json"},
        "accessLog": {"filePath": ACCESS_LOG, "format": "json"},
        "certificatesResolvers": {
            "letsencrypt": {
                "acme": {
                    "httpChallenge": {"entryPoint": "web"},
                    "storage": "/letsencrypt/acme.json",
                }
            }
        },
        "entryPoints": {
            "web": {"address": ":80"},
            "websecure": {
                "address": ":443",
                "transport": {"respondingTimeouts": {"readTimeout": "30m"}},
                "http": {
                    "tls": {"certResolver": "letsencrypt"},
                    "middlewares": ["crowdsec@file"],
                },
            },
        },
        "ping": {"entryPoint": "web"},
    }
    return header(source) + dump_yaml(doc)


def traefik_dynamic(system: System, source: str) -> str:
    """Traefik's dynamic configuration: the dashboard's routes and the shared middlewares."""
    host, _ = _require(system)
    dashboard = f"Host(`{host}`)"
    secure = {"entryPoints": ["websecure"], "tls": {"certResolver": "letsencrypt"}}
    doc = {
        "http": {
            "middlewares": {
                "badger": {"plugin": {"badger": {"disableForwardAuth": True}}},
                "redirect-to-https": {"redirectScheme": {"scheme": "https"}},
                "security-headers": {
                    "headers": {
                        "contentTypeNosniff": True,
                        "customFrameOptionsValue": "SAMEORIGIN",
                        "referrerPolicy": "strict-origin-when-cross-origin",
                        "stsSeconds": 63072000,
                        "stsIncludeSubdomains": True,
                        "customResponseHeaders": {"Server": "", "X-Powered-By": ""},
                    }
                },
                # Clients reach Traefik directly (no CDN in front), so no forwarded header is
                # trusted: the bouncer judges the connection's own address.
                "crowdsec": {
                    "plugin": {
                        "crowdsec": {
                            "enabled": True,
                            "crowdsecMode": "live",
                            "crowdsecLapiScheme": "http",
                            "crowdsecLapiHost": "crowdsec:8080",
                            "crowdsecLapiKeyFile": "/run/secrets/crowdsec_bouncer_key",
                        }
                    }
                },
            },
            "routers": {
                "main-app-router-redirect": {
                    "rule": dashboard,
                    "service": "next-service",
                    "entryPoints": ["web"],
                    "middlewares": ["redirect-to-https", "badger"],
                },
                "next-router": {
                    "rule": f"{dashboard} && !PathPrefix(`/api/v1`)",
                    "service": "next-service",
                    "middlewares": ["security-headers", "badger"],
                    **secure,
                },
                "api-router": {
                    "rule": f"{dashboard} && PathPrefix(`/api/v1`)",
                    "service": "api-service",
                    "middlewares": ["security-headers", "badger"],
                    **secure,
                },
                "ws-router": {
                    "rule": dashboard,
                    "service": "api-service",
                    "middlewares": ["security-headers", "badger"],
                    **secure,
                },
            },
            "services": {
                "next-service": {"loadBalancer": {"servers": [{"url": "http://pangolin:3002"}]}},
                "api-service": {"loadBalancer": {"servers": [{"url": "http://pangolin:3000"}]}},
            },
        }
    }
    return header(source) + dump_yaml(doc)


def acquis(source: str) -> str:
    """CrowdSec's acquisition of Traefik's access log."""
    return header(source) + dump_yaml({"filenames": [ACCESS_LOG], "labels": {"type": "traefik"}})


def render(system: System, source: str = "lares.yaml") -> Bundle:
    """The VPS bundle (see the module docstring); raises ConfigError without a tunnel."""
    _require(system)
    files = [
        File("compose.yaml", compose(system, source)),
        File("config/config.yml", pangolin_config(system, source)),
        File("config/traefik/traefik_config.yml", traefik_static(system, source)),
        File("config/traefik/dynamic_config.yml", traefik_dynamic(system, source)),
        File("config/crowdsec/acquis.d/traefik.yaml", acquis(source)),
        File(
            "firewall.sh",
            ufw_script(FIREWALL, source=source, what="the VPS the tunnel ends on"),
            0o755,
        ),
        File("ssh/sshd_config.d/10-lares.conf", sshd_dropin(source)),
    ]
    copies = (
        SecretCopy(BOUNCER_KEY, f"{SECRETS_DIR}/traefik/{BOUNCER_KEY}", 0),
        SecretCopy(BOUNCER_KEY, f"{SECRETS_DIR}/crowdsec/{BOUNCER_KEY}", 0),
    )
    env = (
        EnvFile(f"{SECRETS_DIR}/pangolin.env", {"SERVER_SECRET": f"{{secret:{SERVER_SECRET}}}"}),
    )
    return Bundle({f.path: f for f in files}, dict(SECRETS), copies, env)
