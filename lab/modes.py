"""The pair's modes as the lab names them: one word per mode for a command line, a
campaign's report or a scenario (``ipics``, ``synchronous-strict+witness`` ...).

The servers take the modes as options (``ipics_server.config.add_mode_arguments``); the
lab adds the witness process when the modes have one (``LabPair`` starts it).
"""

from __future__ import annotations

from dataclasses import dataclass

from ipics_server.core.modes import PairModes, ReplicationMode, SynchronousPolicy

#: the spellings ``LabModes.parse`` takes, joined by ``+``
PARTS = ("ipics", "synchronous", "synchronous-strict", "synchronous-fallback", "witness")
#: the modes compared side by side by the campaign's benchmark and the compare scenario
COMPARED = ("ipics", "synchronous-strict", "witness", "witness+synchronous-strict")


class ModesError(ValueError):
    pass


@dataclass(frozen=True)
class LabModes:
    replication: ReplicationMode = ReplicationMode.ASYNC
    synchronous_policy: SynchronousPolicy = SynchronousPolicy.FALLBACK
    #: fallback policy: emulated seconds (None: the failover window)
    synchronous_fallback_after_s: float | None = None
    witness: bool = False

    @classmethod
    def parse(cls, spec: str) -> LabModes:
        """``ipics`` (the default), ``synchronous[-strict|-fallback]``, ``witness``, or
        several joined by ``+``: ``witness+synchronous-strict``."""
        replication, policy, witness = ReplicationMode.ASYNC, SynchronousPolicy.FALLBACK, False
        for part in (p.strip().lower() for p in spec.split("+")):
            if part == "ipics":
                continue
            if part == "witness":
                witness = True
            elif part in ("synchronous", "synchronous-fallback"):
                replication = ReplicationMode.SYNCHRONOUS
            elif part == "synchronous-strict":
                replication, policy = ReplicationMode.SYNCHRONOUS, SynchronousPolicy.STRICT
            else:
                raise ModesError(
                    f"unknown mode {part!r}: give {', '.join(PARTS)}, joined by + (say witness+synchronous-strict)"
                )
        return cls(replication, policy, None, witness)

    @property
    def name(self) -> str:
        """The spelling ``parse`` reads back."""
        parts = []
        if self.witness:
            parts.append("witness")
        if self.replication == ReplicationMode.SYNCHRONOUS:
            parts.append(f"synchronous-{self.synchronous_policy.value}")
        return "+".join(parts) or "ipics"

    @property
    def label(self) -> str:
        return self.pair_modes(witness_url="x" if self.witness else None).label

    def pair_modes(self, witness_url: str | None) -> PairModes:
        return PairModes(self.replication, self.synchronous_policy, self.synchronous_fallback_after_s, witness_url)

    def server_args(self, witness_url: str | None, witness_key_file: str | None) -> list[str]:
        """The servers' options for these modes (none for IPICS's)."""
        args: list[str] = []
        if self.replication == ReplicationMode.SYNCHRONOUS:
            args += ["--replication", "synchronous", "--synchronous-policy", self.synchronous_policy.value]
            if self.synchronous_fallback_after_s is not None:
                args += ["--synchronous-fallback-after", repr(self.synchronous_fallback_after_s)]
        if self.witness:
            if witness_url is None or witness_key_file is None:
                raise ModesError("witness mode needs the witness's address and key")
            args += ["--witness", witness_url, "--witness-key-file", witness_key_file]
        return args


def add_modes_option(parser) -> None:
    """``--modes SPEC`` on a command (``up``, the trainer's lab, scenario, campaign)."""
    parser.add_argument(
        "--modes",
        default="ipics",
        type=_parse_option,
        metavar="MODES",
        help="the pair's modes beyond IPICS: ipics (the default), synchronous-strict, synchronous-fallback, "
        "witness, or several joined by + (witness+synchronous-strict)",
    )


def _parse_option(value: str) -> LabModes:
    import argparse

    try:
        return LabModes.parse(value)
    except ModesError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
