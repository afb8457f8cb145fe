"""A local AWS stand-in for tests and rehearsal: moto's server plus what moto lacks for Nova.

It serves the SageMaker Public Hub's Nova recipes from a packaged snapshot, runs training jobs
through a lifecycle and writes their artifacts and logs, and keeps HyperPod clusters with their
EKS orchestrator as SageMaker describes them. It is a rehearsal stage, not AWS: what
passes here must still be run against a real account before it is trusted.
"""

from __future__ import annotations

from airflow_provider_nova.sandbox.server import BANNER, NovaSandbox, SandboxControl

__all__ = ["BANNER", "NovaSandbox", "SandboxControl"]
