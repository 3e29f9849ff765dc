"""The `convcost` program and `python -m conv_cost`: signals first, then the command line.

The signal handlers go in before the command line's modules are imported (a tenth of a
second), so that Ctrl-C at any moment ends the program the same way: no traceback.
"""

from __future__ import annotations


def main() -> None:
    from .output import SignalExit, catch_signals, end_by_signal, release_signals

    catch_signals()
    try:
        from .cli import main as run

        run()
    except SignalExit as exc:
        end_by_signal(exc.signum)
    finally:
        release_signals()  # a signal after the end simply ends the process


if __name__ == "__main__":
    main()
