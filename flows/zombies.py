"""Prefect automations that end the flow runs of dead workers ("zombie" runs).

A flow run whose process dies with its machine (or a SIGKILL of its worker's process group)
stays Running forever in open-source Prefect: nothing else ever says it ended. Every flow
run sends a heartbeat event every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (180 by
default, 30 at least); the first automation here marks Crashed a run that sent none for
``silent_after_s``, the second one a run that a worker claimed (Pending) but never started
within ``pending_after_s``. The API's sweep (flows/recovery.py, resume_crashed_jobs) then
resumes the job in a new run, from its written chunks.

Prefect's documented way ("detect zombie flows"); created once per Prefect server by
`kyc cluster setup` (again: an automation of the same name is replaced).
"""

from __future__ import annotations

from datetime import timedelta

SILENT_RUNS = "kyc: crash flow runs that stopped sending heartbeats"
STUCK_PENDING_RUNS = "kyc: crash flow runs a worker claimed but never started"

# Events that end a run's wait: its next heartbeat, or any end.
_ENDED = {
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.Cancelled",
    "prefect.flow-run.Crashed",
}


async def ensure_zombie_automations(silent_after_s: float, pending_after_s: float) -> list[str]:
    """Create (or replace) the two automations; their names."""
    from prefect.automations import AutomationCore
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    from flows.deployments import prefect_client

    def silence(after: str, expect: set[str], within_s: float) -> EventTrigger:
        """Fires for a flow run that sent ``after`` and then none of ``expect`` in time."""
        return EventTrigger(
            after={after},
            expect=expect,
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=within_s),
        )

    wanted = {
        SILENT_RUNS: (
            silence(
                "prefect.flow-run.heartbeat",
                {"prefect.flow-run.heartbeat", *_ENDED},
                silent_after_s,
            ),
            f"no heartbeat for {silent_after_s:.0f} s: its process is gone",
        ),
        STUCK_PENDING_RUNS: (
            silence(
                "prefect.flow-run.Pending", {"prefect.flow-run.Running", *_ENDED}, pending_after_s
            ),
            f"claimed by a worker but not started within {pending_after_s:.0f} s",
        ),
    }
    client = await prefect_client()
    for name, (trigger, message) in wanted.items():
        for existing in await client.read_automations_by_name(name):
            await client.delete_automation(existing.id)
        # Not forced: a run that ended meanwhile keeps its end (Prefect refuses the change).
        action = ChangeFlowRunState(state=StateType.CRASHED, message=message)
        automation = AutomationCore(name=name, trigger=trigger, actions=[action])
        await client.create_automation(automation)
    return list(wanted)
