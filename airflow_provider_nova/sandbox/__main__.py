"""``python -m airflow_provider_nova.sandbox --port N``: run the local AWS stand-in."""

from __future__ import annotations

import argparse

from airflow_provider_nova.sandbox.server import BANNER, NovaSandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_nova.sandbox", description=BANNER)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=5055, help="port to bind (0 picks a free one)")
    parser.add_argument("--job-seconds", type=float, default=5.0, help="seconds a job stays InProgress")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    sandbox = NovaSandbox(host=args.host, port=args.port, job_seconds=args.job_seconds, verbose=args.verbose)
    sandbox.start()
    print(f"{BANNER}\nlistening on {sandbox.endpoint_url} (jobs complete after {args.job_seconds:g}s)", flush=True)
    try:
        sandbox.wait()
    except KeyboardInterrupt:
        sandbox.stop()


if __name__ == "__main__":
    main()
