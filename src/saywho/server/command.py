"""``saywho serve``: the REST API, the job queue and the web page, with uvicorn.

    saywho serve [--host 127.0.0.1] [--port 8000] [--data-dir DIR] [--workers N] …

Binds to loopback by default. Clients not on loopback must send the API token, which is
generated on first start and printed once (``--new-token`` replaces it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from saywho.config import DecodeConfig, PipelineConfig, RecognizeConfig
from saywho.errors import ConfigError
from saywho.options import parse_duration_s
from saywho.server.security import is_loopback, load_or_create_token
from saywho.server.settings import MAX_DURATION_S, ServerSettings, default_data_dir

__all__ = ["register", "settings_from_args"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the ``saywho`` command's subcommands."""
    serve = commands.add_parser("serve", help="run the web page and REST API (a job queue)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=8000, help="(default: 8000)")
    serve.add_argument(
        "--data-dir", type=Path, help=f"jobs, uploads and results (default: {default_data_dir()})"
    )
    serve.add_argument("--workers", type=int, default=1, help="jobs run at once (default: 1)")
    serve.add_argument("--model", default="base", help="the default model (default: base)")
    serve.add_argument(
        "--models",
        default="base,tiny.en",
        help="comma-separated models clients may choose (default: base,tiny.en)",
    )
    serve.add_argument(
        "--auth",
        choices=("remote", "always", "none"),
        default="remote",
        help="when the API token is required: for clients not on loopback (default), "
        "always, or never (only on a trusted network)",
    )
    serve.add_argument("--new-token", action="store_true", help="replace the API token")
    serve.add_argument(
        "--max-upload-mb", type=float, default=2000.0, help="largest upload in MB (default: 2000)"
    )
    serve.add_argument(
        "--max-job-memory-mb",
        type=float,
        default=8000.0,
        help="memory one job's worker process may hold, in MB; a job that needs more fails "
        "alone (default: 8000; 0: no limit)",
    )
    serve.add_argument(
        "--max-duration",
        dest="max_duration_s",
        type=parse_duration_s,
        default=MAX_DURATION_S,
        metavar="DURATION",
        help="refuse uploads whose audio is longer than this: seconds, or 90m, 4h (default: 4h)",
    )
    serve.add_argument(
        "--max-queued", type=int, default=200, help="jobs waiting at most (default: 200)"
    )
    serve.add_argument(
        "--rate-limit",
        type=int,
        default=600,
        help="requests per minute per client (default: 600; 0: off)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        help="an origin allowed to call the API from a browser (CORS is off by default)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name clients reach the server by, besides the bound address "
        "(and localhost on loopback); repeat for more",
    )
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy (IP address or network) whose X-Forwarded-For is believed; "
        "without it the header is ignored",
    )
    serve.add_argument(
        "--voices", type=Path, help="the voice library file (default: the user's library)"
    )
    serve.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    serve.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    serve.set_defaults(run=_serve)


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """The server settings the command line asks for."""
    models = tuple(dict.fromkeys(m.strip() for m in args.models.split(",") if m.strip()))
    if args.model not in models:
        models = (args.model, *models)
    return ServerSettings(
        data_dir=args.data_dir if args.data_dir is not None else default_data_dir(),
        host=args.host,
        allowed_hosts=tuple(args.allowed_host),
        trusted_proxies=tuple(args.trusted_proxy),
        workers=args.workers,
        config=PipelineConfig(
            recognize=RecognizeConfig(model=args.model),
            decode=DecodeConfig(max_duration_s=args.max_duration_s),
        ),
        models=models,
        auth=args.auth,
        max_upload_bytes=int(args.max_upload_mb * 1_000_000),
        max_queued_jobs=args.max_queued,
        max_job_memory_bytes=int(args.max_job_memory_mb * 1_000_000) or None,
        requests_per_minute=args.rate_limit,
        cors_origins=tuple(args.cors_origin),
        voices_path=args.voices,
    )


def _serve(args: argparse.Namespace, console: Console) -> int:
    import uvicorn

    from saywho.server.app import create_app
    from saywho.server.live_protocol import MAX_AUDIO_BYTES

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    settings = settings_from_args(args)
    check, new_token = load_or_create_token(settings.data_dir, renew=args.new_token)
    if new_token is not None:
        Console(stderr=True).print(
            f"API token (shown once; keep it): [bold]{new_token}[/bold]", highlight=False
        )
    if not is_loopback(args.host) and settings.auth == "none":
        console.print(
            "[yellow]warning:[/yellow] listening beyond loopback with --auth none: "
            "anyone who can reach this machine can use the server",
            highlight=False,
        )
    console.print(
        f"saywho serving on http://{args.host}:{args.port}/ · data in {settings.data_dir}",
        highlight=False,
        soft_wrap=True,
    )
    app = create_app(settings, check)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="info" if args.verbose else "warning",
        timeout_graceful_shutdown=3,
        # X-Forwarded-For only from the proxies the operator named (uvicorn would believe
        # any process on loopback, so a proxy passing the client's header on would let
        # anyone look like loopback and skip the token).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
        # A WebSocket message bigger than this is refused before it is buffered whole; the
        # live session refuses audio messages over MAX_AUDIO_BYTES with a clearer message.
        ws_max_size=2 * MAX_AUDIO_BYTES,
    )
    uvicorn.Server(config).run()
    return 0
