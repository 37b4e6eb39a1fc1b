"""Engines in processes of their own that take turns, for the benchmarks.

The machine has slow phases (seconds long; memory-bound work 1.5-3x slower),
so two engines timed one after the other can meet different phases. Here
each engine's process stays up, waiting on its stdin; `take_turns` has each
run for a slice of time while the other waits, so both meet the same
phases. A worker answers every command with one JSON line on its stdout.
"""
import json
import subprocess
import tempfile
import time


class Worker:
    """A child process that answers commands (one line each) with JSON lines.

    Its first line, read at start, is `ready`. stderr goes to a file, read
    back if the worker fails."""

    def __init__(self, command, env):
        self.errors = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.errors, text=True, env=env)
        self.ready = self.answer()

    def answer(self):
        line = self.process.stdout.readline()
        if not line:
            status = self.process.wait()
            self.errors.seek(0)
            raise RuntimeError(f"exit status {status}:\n{self.errors.read()[-2000:]}")
        return json.loads(line)

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.answer()

    def finish(self, command):
        """Sends the last command and waits for the process to end."""
        last = self.ask(command)
        self.process.wait()
        return last


def take_turns(workers, command, seconds):
    """Has each worker (a dict name -> Worker) run `command` in turn, pair
    after pair of turns with the first one alternating, until each has spent
    `seconds` in all. `command` answers {"times": [seconds, ...]}. Returns
    each worker's times, one list per turn."""
    turns = {name: [] for name in workers}
    names = list(workers)
    while min(sum(map(sum, t)) for t in turns.values()) < seconds:
        order = names if len(turns[names[0]]) % 2 == 0 else names[::-1]
        for name in order:
            turns[name].append(workers[name].ask(command)["times"])
            # Let the other engine's threads stop spinning first.
            time.sleep(0.05)
    return turns
