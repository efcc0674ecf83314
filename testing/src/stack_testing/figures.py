"""Figures a test measured (times, sizes, where a run landed), printed as they happen and
repeated in the session's summary, so a CI log without `-s` still names every figure a
document quotes."""

_RECORDED: list[str] = []


def record(line: str) -> None:
    print(f"\n{line}")
    _RECORDED.append(line)


def recorded() -> list[str]:
    return list(_RECORDED)
