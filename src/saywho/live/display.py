"""What ``saywho live`` shows: committed lines in speaker colours with names, the tentative
tail greyed, and a status line (compute load, delay). Without a terminal (a pipe), each line
is printed once it is complete."""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from saywho.live.engine import LiveUpdate
from saywho.live.lines import Line, LineBuilder
from saywho.timestamps import format_timestamp
from saywho.types import Speaker

__all__ = ["LiveView"]

COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")


class LiveView:
    """Renders each :class:`LiveUpdate` on ``console`` (use as a context manager)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lines = LineBuilder()
        self._names: dict[str, str] = {}
        self._colours: dict[str, str] = {}
        self._last: LiveUpdate | None = None
        self._live = (
            Live(console=console, refresh_per_second=8, transient=True)
            if console.is_terminal
            else None
        )

    def __enter__(self) -> LiveView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for line in self._lines.close():
            self._print(line)
        if self._live is not None:
            self._live.stop()

    def show(self, update: LiveUpdate) -> None:
        """Print the lines ``update`` completed; redraw the growing line and the status."""
        self._last = update
        self._learn(update.speakers)
        for line in self._lines.add([c.word for c in update.committed]):
            self._print(line)
        if self._live is not None:
            self._live.update(self._tail(update))

    def _learn(self, speakers: tuple[Speaker, ...]) -> None:
        for speaker in speakers:
            self._names[speaker.label] = speaker.display
            self._colours.setdefault(speaker.label, COLOURS[len(self._colours) % len(COLOURS)])

    def _print(self, line: Line) -> None:
        self.console.print(self._render(line), soft_wrap=self._live is None)

    def _render(self, line: Line) -> Text:
        who = self._names.get(line.speaker, line.speaker) if line.speaker else "?"
        colour = self._colours.get(line.speaker or "", "white")
        text = Text(f"[{format_timestamp(line.start)}] ", style="dim")
        text.append(f"{who}: ", style=f"bold {colour}")
        text.append(line.text, style=colour)
        return text

    def _tail(self, update: LiveUpdate) -> Group:
        growing = self._lines.open_line
        tail = self._render(growing) if growing is not None else Text()
        if update.tentative:
            tail.append((" " if growing else "") + " ".join(w.text for w in update.tentative))
            tail.stylize("grey50", len(tail) - len(" ".join(w.text for w in update.tentative)))
        status = Text(
            f"heard {format_timestamp(update.heard_s)} · load {update.load:.0%} · "
            f"delay {update.delay_s:.1f} s · {len(update.speakers)} speaker(s)",
            style="dim",
        )
        if update.notice:
            status.append(f" · {update.notice}", style="yellow")
        return Group(tail, status)
